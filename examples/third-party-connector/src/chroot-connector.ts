import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { RawCommand, RawCommandIo, RawExit } from '@infra/connector-utils';
import * as shared from '@infra/connector-utils';
import {
  ConnectError,
  type ConnectorData,
  type DataMetaMap,
  InventoryError,
  type NamesData,
} from '@infra/core';

/** The host data keys of `@chroot`, snake_case as in pyinfra. */
export const CHROOT_DATA_META = {
  chroot_directory: {
    description: 'The root file system to chroot into (set from @chroot:DIRECTORY)',
    type: 'string',
    required: true,
  },
  ...shared.SUDO_PASSWORD_DATA_META,
} as const satisfies DataMetaMap;

export type ChrootConnectorData = ConnectorData<typeof CHROOT_DATA_META>;

/** The environment inside the chroot: nothing of the caller's leaks in. */
const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

/**
 * `@chroot:/srv/rootfs`: commands run as `chroot DIRECTORY SHELL -c SCRIPT` in a
 * process group of their own. That is the whole transport: `TransportConnector`
 * adds env, chdir, sudo / su / doas, retries, timeouts, abort and the files.
 * Needs root.
 */
export class ChrootConnector extends shared.TransportConnector<ChrootConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = CHROOT_DATA_META;
  static override readonly description =
    'A root file system on this machine: commands run through chroot(8) (needs root).';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg && isAbsolute(arg)) return [[`@chroot:${arg}`, { chroot_directory: arg }, ['@chroot']]];
    const given = arg ? JSON.stringify(arg) : 'none';
    throw new InventoryError(
      `@chroot needs the absolute path of a root file system, e.g. @chroot:/srv/rootfs, but got ${given}.`,
    );
  }

  /** Process groups still running, killed by `disconnect()`. */
  readonly #groups = new shared.ProcessGroups();

  get #root(): string {
    return resolve(this.host.data.chroot_directory);
  }

  override async connect(): Promise<void> {
    const root = this.#root;
    const fail = (reason: string) => new ConnectError(this.host.name, reason);
    if (process.getuid?.() !== 0) {
      throw fail('chroot needs root (CAP_SYS_CHROOT): run infra as root, or use @local / @docker.');
    }
    if (!(await stat(root).catch(() => undefined))?.isDirectory()) {
      throw fail(`${root} is not a directory (chroot_directory).`);
    }
    if (!(await stat(join(root, 'bin/sh')).catch(() => undefined))) {
      throw fail(
        `${root}/bin/sh is missing: ${root} is not a root file system with a shell (copy a static busybox into ${root}/bin, or debootstrap one).`,
      );
    }
    if (spawnSync('chroot', ['--version'], { stdio: 'ignore' }).error) {
      throw fail('the chroot program is not on PATH (coreutils).');
    }
    const probe = await this.runShellCommand('true', { timeout: 30 });
    if (!probe.success) {
      throw fail(
        `chroot ${root} sh -c true failed (exit ${probe.output.exitCode}): ${probe.output.stderr}`,
      );
    }
  }

  override async disconnect(): Promise<void> {
    this.#groups.killAll();
  }

  /** The transport: `chroot ROOT SHELL -c SCRIPT`, killed with its whole group on `io.signal`. */
  protected override runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    return shared.runRawLocally(command, io, {
      prefix: ['chroot', this.#root],
      env: CHROOT_ENV,
      clearEnv: true,
      groups: this.#groups,
    });
  }
}
