import * as shared from '@infra/connector-utils';
import * as core from '@infra/core';

/**
 * The host data keys of `@nsenter`, snake_case as in pyinfra. `VIA_DATA_META` adds
 * `via`: WrappingConnector then runs nsenter on that host instead of this machine.
 */
export const NSENTER_DATA_META = {
  nsenter_pid: {
    description: 'The process whose namespaces to enter (set from @nsenter:PID)',
    type: 'integer',
    required: true,
    minimum: 1,
  },
  ...core.VIA_DATA_META,
  ...shared.SUDO_PASSWORD_DATA_META,
} as const satisfies core.DataMetaMap;

/** Why connect() refuses, by the word its check prints. */
const REFUSALS: Readonly<Record<string, (pid: number, where: string) => string>> = {
  'not-root': (_pid, where) => `entering namespaces needs root on ${where}.`,
  'no-process': (pid, where) => `there is no process ${pid} on ${where} (nsenter_pid).`,
  'no-nsenter': (_pid, where) => `the nsenter program is not on PATH on ${where} (util-linux).`,
};

/**
 * `@nsenter:PID`: commands run in the namespaces of a process (a container's, an
 * `unshare`d service's) as `nsenter -t PID -a SHELL -c SCRIPT`, on this machine or,
 * with `via=@ssh:web1`, on that host. Needs root where nsenter runs.
 */
export class NsenterConnector extends shared.WrappingConnector<
  core.ConnectorData<typeof NSENTER_DATA_META>
> {
  static override makeNamesData(arg: string | undefined): core.NamesData[] {
    if (!arg || !/^[1-9][0-9]*$/.test(arg)) {
      const given = arg ? JSON.stringify(arg) : 'none';
      throw new core.InventoryError(
        `@nsenter needs the id of a running process, e.g. @nsenter:4242, but got ${given}.`,
      );
    }
    return [[`@nsenter:${arg}`, { nsenter_pid: Number(arg) }, ['@nsenter']]];
  }
  static override readonly description =
    'The namespaces of a process, entered with nsenter(1) here or on a via host (needs root there).';
  static override readonly dataMeta = NSENTER_DATA_META;
  static override readonly handlesExecution = true;

  /** The whole transport: what enters the target, and the only variables inside. */
  protected override get wrapper(): shared.Wrapper {
    const path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    const pid = String(this.host.data.nsenter_pid);
    return {
      prefix: ['nsenter', '-t', pid, '-a'],
      env: { PATH: path, HOME: '/root' },
      clearEnv: true,
    };
  }

  /** Checks where nsenter runs (root, the process, the program), then runs `true` inside. */
  override async connect(): Promise<void> {
    await super.connect();
    const pid = this.host.data.nsenter_pid;
    const check = await this.runOutside(
      core.sh`if [ "$(id -u)" != 0 ]; then echo not-root; elif [ ! -d ${`/proc/${pid}`} ]; then echo no-process; elif ! command -v nsenter >/dev/null; then echo no-nsenter; else echo ok; fi`,
    );
    const verdict = check.output.stdout.trim();
    const refusal = REFUSALS[verdict]?.(pid, this.wrapperHost);
    if (refusal || verdict !== 'ok') {
      const failed = `checking process ${pid} failed: ${check.output.stderr.trim()}`;
      throw new core.ConnectError(this.host.name, refusal ?? failed);
    }
    const probe = await this.runShellCommand('true', { timeout: 30 });
    if (!probe.success) {
      const reason = `nsenter -t ${pid} -a sh -c true failed: ${probe.output.stderr.trim()}`;
      throw new core.ConnectError(this.host.name, reason);
    }
  }
}
