import { isAbsolute, posix, resolve } from 'node:path';
import { SUDO_PASSWORD_DATA_META, type Wrapper, WrappingConnector } from '@infra/connector-utils';
import {
  ConnectError,
  type ConnectorData,
  type DataMetaMap,
  InventoryError,
  type NamesData,
  sh,
  VIA_DATA_META,
} from '@infra/core';

/** The host data keys of `@chroot`, snake_case as in pyinfra. */
export const CHROOT_DATA_META = {
  chroot_directory: {
    description: 'The root file system to chroot into (set from @chroot:DIRECTORY)',
    type: 'string',
    required: true,
  },
  ...VIA_DATA_META,
  ...SUDO_PASSWORD_DATA_META,
} as const satisfies DataMetaMap;

export type ChrootConnectorData = ConnectorData<typeof CHROOT_DATA_META>;

/** The environment inside the chroot: nothing of the caller's leaks in. */
const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

/**
 * `@chroot:/srv/rootfs`: commands run as `chroot DIRECTORY SHELL -c SCRIPT`, on this
 * machine or, with `via=@ssh:web1`, on that host. `WrappingConnector` does the rest:
 * the local process group or the via host, env, chdir, sudo / su / doas, retries,
 * timeouts, abort and the files. Needs root where chroot runs.
 */
export class ChrootConnector extends WrappingConnector<ChrootConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = CHROOT_DATA_META;
  static override readonly description =
    'A root file system, entered with chroot(8) on this machine or on a via host (needs root there).';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg && isAbsolute(arg)) return [[`@chroot:${arg}`, { chroot_directory: arg }, ['@chroot']]];
    const given = arg ? JSON.stringify(arg) : 'none';
    throw new InventoryError(
      `@chroot needs the absolute path of a root file system, e.g. @chroot:/srv/rootfs, but got ${given}.`,
    );
  }

  /** The root: on the via host a path there, else resolved here. */
  get #root(): string {
    const directory = this.host.data.chroot_directory;
    return this.host.via ? posix.resolve('/', directory) : resolve(directory);
  }

  protected override get wrapper(): Wrapper {
    return { prefix: ['chroot', this.#root], env: CHROOT_ENV, clearEnv: true };
  }

  /** Checks where chroot runs (root, the directory, its shell, the program), then runs `true` inside. */
  override async connect(): Promise<void> {
    await super.connect();
    const root = this.#root;
    const where = this.wrapperHost;
    const fail = (reason: string) => new ConnectError(this.host.name, reason);
    const check = await this.runOutside(
      sh`if [ "$(id -u)" != 0 ]; then echo not-root; elif [ ! -d ${root} ]; then echo no-directory; elif [ ! -e ${`${root}/bin/sh`} ] && [ ! -L ${`${root}/bin/sh`} ]; then echo no-shell; elif ! command -v chroot >/dev/null; then echo no-chroot; else echo ok; fi`,
    );
    const verdict = check.output.stdout.trim();
    if (verdict === 'not-root') {
      throw fail(
        this.host.via
          ? `chroot needs root (CAP_SYS_CHROOT) on ${where}: log in to it as root (e.g. --data ssh_user=root).`
          : 'chroot needs root (CAP_SYS_CHROOT): run infra as root, or use @local / @docker.',
      );
    }
    if (verdict === 'no-directory') {
      throw fail(`${root} is not a directory on ${where} (chroot_directory).`);
    }
    if (verdict === 'no-shell') {
      throw fail(
        `${root}/bin/sh is missing on ${where}: ${root} is not a root file system with a shell (copy a static busybox into ${root}/bin, or debootstrap one).`,
      );
    }
    if (verdict === 'no-chroot')
      throw fail(`the chroot program is not on PATH on ${where} (coreutils).`);
    if (verdict !== 'ok') {
      throw fail(
        `checking ${root} on ${where} failed (exit ${check.output.exitCode}): ${check.output.stderr.trim() || 'no error output'}`,
      );
    }
    const probe = await this.runShellCommand('true', { timeout: 30 });
    if (!probe.success) {
      throw fail(
        `chroot ${root} sh -c true failed on ${where} (exit ${probe.output.exitCode}): ${probe.output.stderr.trim()}`,
      );
    }
  }
}
