import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  BaseConnector,
  becomeArguments,
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  ConnectError,
  type ConnectorData,
  type DataMetaMap,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  InventoryError,
  makeBecomeGetScript,
  makeBecomePutScript,
  makeRemoveScript,
  makeShellInvocation,
  type NamesData,
  openFileSource,
  type RunShellCommandOptions,
  refuseNonRegularLocalFile,
  runWithRetries,
  tempPathBeside,
  toStringCommand,
} from '@infra/core';
import { killProcessGroup, runInChroot } from './chroot-process.js';

/** The host data keys of `@chroot`, snake_case as in pyinfra. */
export const CHROOT_DATA_META = {
  chroot_directory: {
    description: 'The root file system to chroot into (set from @chroot:DIRECTORY)',
    type: 'string',
    required: true,
  },
} as const satisfies DataMetaMap;

export type ChrootConnectorData = ConnectorData<typeof CHROOT_DATA_META>;

const random = () => randomBytes(6).toString('hex');

/** Where a path inside the chroot is on this machine (for modes of existing files only). */
function hostPathOf(root: string, path: string): string {
  return join(root, posix.resolve('/', path));
}

/**
 * `@chroot:/srv/rootfs`: commands run as `chroot DIRECTORY sh -c COMMAND` in a
 * process group of their own; files move through commands run in the chroot, so
 * sudo / su / doas work for them as they do for commands. Needs root.
 */
export class ChrootConnector extends BaseConnector<ChrootConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = CHROOT_DATA_META;
  static override readonly description =
    'A root file system on this machine: commands run through chroot(8) (needs root).';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg === undefined || arg === '' || !isAbsolute(arg)) {
      throw new InventoryError(
        `@chroot needs the absolute path of a root file system, e.g. @chroot:/srv/rootfs, but got ${arg === undefined ? 'none' : JSON.stringify(arg)}.`,
      );
    }
    return [[`@chroot:${arg}`, { chroot_directory: arg }, ['@chroot']]];
  }

  /** Process groups still running, killed by `disconnect()`. */
  readonly #running = new Set<ChildProcess>();

  get #root(): string {
    return resolve(this.host.data.chroot_directory);
  }

  override async connect(): Promise<void> {
    const root = this.#root;
    if (process.getuid?.() !== 0) {
      throw new ConnectError(
        this.host.name,
        'chroot needs root (CAP_SYS_CHROOT): run infra as root, or use @local / @docker instead.',
      );
    }
    const rootStat = await stat(root).catch(() => undefined);
    if (!rootStat?.isDirectory()) {
      throw new ConnectError(this.host.name, `${root} is not a directory (chroot_directory).`);
    }
    const shell = await stat(join(root, 'bin/sh')).catch(() => undefined);
    if (!shell) {
      throw new ConnectError(
        this.host.name,
        `${root}/bin/sh is missing: ${root} is not a root file system with a shell (copy a static busybox into ${root}/bin, or debootstrap one).`,
      );
    }
    if (spawnSync('chroot', ['--version'], { stdio: 'ignore' }).error) {
      throw new ConnectError(this.host.name, 'the chroot program is not on PATH (coreutils).');
    }
    const probe = await this.runShellCommand('true', { timeout: 30 });
    if (!probe.success) {
      throw new ConnectError(
        this.host.name,
        `chroot ${root} sh -c true failed (exit ${probe.output.exitCode}): ${probe.output.stderr}`,
      );
    }
  }

  override async disconnect(): Promise<void> {
    for (const child of this.#running) killProcessGroup(child);
    this.#running.clear();
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    // makeShellInvocation is core's command builder: env, chdir, sudo / su / doas and
    // the shell, every value quoted. A connector never builds those strings itself.
    return runWithRetries(command, options, this.host.log, () => {
      const { shell, script } = makeShellInvocation(command, options);
      return runInChroot(
        {
          root: this.#root,
          shell,
          script,
          shownCommand: String(toStringCommand(command)),
          stdin: options.stdin,
          timeout: options.timeout,
          signal: options.signal,
          successExitCodes: options.successExitCodes,
          onOutput: options.onOutput,
        },
        this.#running,
      );
    });
  }

  /** Run one of core's file scripts in the chroot, as the become user when one is asked for. */
  #runFileScript(
    script: CommandInput,
    options: FileOptions,
    extra: { stdin?: NodeJS.ReadableStream; stdoutSink?: Writable } = {},
  ): Promise<CommandResult> {
    const invocation = makeShellInvocation(script, becomeArguments(options));
    return runInChroot(
      {
        root: this.#root,
        shell: invocation.shell,
        script: invocation.script,
        shownCommand: String(toStringCommand(script)),
        stdin: extra.stdin,
        timeout: options.timeout,
        signal: options.signal,
        ...(extra.stdoutSink ? { stdoutSink: extra.stdoutSink } : {}),
      },
      this.#running,
    );
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const dest = posix.resolve('/', remotePath);
    const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(dest)} in ${this.host.name}`;
    const tempPath = tempPathBeside(dest, random());
    const existing = await stat(hostPathOf(this.#root, dest)).catch(() => undefined);
    const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o644);
    const script = makeBecomePutScript({
      destPath: dest,
      tempPath,
      mode,
      createParents: options.createParents ?? false,
    });
    const source = openFileSource(src);
    let result: CommandResult;
    try {
      result = await this.#runFileScript(script, options, { stdin: source });
    } catch (error) {
      source.destroy();
      // SIGKILL (timeout, abort) skips the script's trap: remove the temp file here.
      await this.#runFileScript(makeRemoveScript(tempPath), { ...options, timeout: 30 }).catch(
        () => undefined,
      );
      throw this.#fileError(action, error);
    }
    if (!result.success) {
      throw new FileTransferError(
        `${action} failed (exit ${result.output.exitCode ?? result.output.signal}): ${result.output.stderr || 'no error output'}`,
      );
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const src = posix.resolve('/', remotePath);
    const action = `getFile ${JSON.stringify(src)} in ${this.host.name} -> ${describeFileEnd(dest)}`;
    // A local path gets the bytes through a private temp file beside it, renamed into place.
    let sink: Writable;
    let tempPath: string | undefined;
    let localDest: string | undefined;
    if (typeof dest === 'string') {
      localDest = resolve(dest);
      if (!(await stat(dirname(localDest)).catch(() => undefined))?.isDirectory()) {
        throw new FileTransferError(
          `${action} failed: the local directory ${JSON.stringify(dirname(localDest))} does not exist.`,
        );
      }
      await refuseNonRegularLocalFile(localDest);
      tempPath = join(dirname(localDest), `.infra-${random()}.tmp`);
      sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
    } else {
      sink = dest;
    }
    // A sink that fails (disk full, a closed stream) fails the transfer, never the process.
    let sinkError: Error | undefined;
    sink.once('error', (error) => {
      sinkError = error;
    });
    try {
      const result = await this.#runFileScript(makeBecomeGetScript(src), options, {
        stdoutSink: sink,
      });
      if (!result.success) {
        throw new FileTransferError(
          `${action} failed (exit ${result.output.exitCode ?? result.output.signal}): ${result.output.stderr || 'no error output'}`,
        );
      }
      if (sinkError) throw sinkError;
      sink.end();
      await finished(sink);
      if (tempPath && localDest) {
        const existing = await stat(localDest).catch(() => undefined);
        await chmod(tempPath, options.mode ?? (existing ? existing.mode & 0o7777 : 0o644));
        await rename(tempPath, localDest);
      }
    } catch (error) {
      if (tempPath) {
        sink.destroy();
        await rm(tempPath, { force: true });
      }
      throw this.#fileError(action, error);
    }
  }

  #fileError(action: string, error: unknown): Error {
    if (error instanceof CommandTimeoutError) {
      return new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
        cause: error,
      });
    }
    if (error instanceof InfraError) return error;
    return new FileTransferError(`${action} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
