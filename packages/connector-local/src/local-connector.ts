import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  BaseConnector,
  becomeArguments,
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  type ConnectorArguments,
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
  runWithSudoRetry,
  type StringCommand,
  timeoutSignal,
  toStringCommand,
  usesBecome,
  withSudoPasswordStdin,
} from '@infra/core';
import {
  defaultFileMode,
  describeFsError,
  ensureParentDirectory,
  getFileAsCurrentUser,
  makeDirectory,
  putFileAsCurrentUser,
  statIfExists,
  tempPathBeside,
} from './local-files.js';
import { killProcessGroup, runShellProcess, type ShellProcessOptions } from './shell-process.js';

/** The local connector has no host data keys. */
export const LOCAL_DATA_META = {} as const satisfies DataMetaMap;

export type LocalConnectorData = ConnectorData<typeof LOCAL_DATA_META>;

function fileError(action: string, error: unknown, options: FileOptions): unknown {
  if (error instanceof InfraError) return error;
  if (
    (error as Error | undefined)?.name === 'TimeoutError' ||
    (error as Error | undefined)?.name === 'AbortError'
  ) {
    if (options.signal?.aborted) return options.signal.reason ?? error;
    if (options.timeout !== undefined) {
      return new FileTransferError(`${action} failed: timed out after ${options.timeout}s.`, {
        cause: error,
      });
    }
  }
  return new FileTransferError(`${action} failed: ${describeFsError(error)}.`, { cause: error });
}

/**
 * Runs commands and moves files on this machine: `sh -c` in a process group of
 * its own per command, and the file system directly (or a command run as the
 * become user when `sudo`, `su` or `doas` is asked for).
 */
export class LocalConnector extends BaseConnector<LocalConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = LOCAL_DATA_META;
  static override readonly description =
    'This machine: commands run as child processes, files are moved directly.';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg !== undefined) {
      throw new InventoryError(
        `@local takes no argument, but got ${JSON.stringify(arg)} (from "@local:${arg}"): write just @local.`,
      );
    }
    return [['@local', {}, ['@local']]];
  }

  /** Process groups still running, killed by `disconnect()`. */
  readonly #running = new Set<ChildProcess>();

  override async disconnect(): Promise<void> {
    for (const child of this.#running) killProcessGroup(child);
    this.#running.clear();
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    return runWithRetries(command, options, this.host.log, () =>
      runWithSudoRetry(command, options, this.host.sudoPassword, (next, args) =>
        this.#runOnce(next, args, options),
      ),
    );
  }

  #runOnce(
    command: CommandInput,
    args: ConnectorArguments,
    options: RunShellCommandOptions,
    extra: Partial<ShellProcessOptions> = {},
  ): Promise<CommandResult> {
    const { shell: program, script } = makeShellInvocation(command, args);
    // A secret goes to the shell through its environment, never in an argv:
    // without a user switch the shell itself evaluates it (the hidden path).
    // A sudo password goes first on stdin.
    const hideScript = script.hasSecrets();
    const stdin = withSudoPasswordStdin(args, extra.stdin ?? args.stdin);
    return runShellProcess(
      {
        shell: program,
        script: script.getRawValue(),
        shownCommand: String(toStringCommand(command)),
        hideScript,
        timeout: args.timeout,
        signal: options.signal,
        successExitCodes: args.successExitCodes,
        onOutput: options.onOutput,
        ...extra,
        stdin,
      },
      this.#running,
    );
  }

  /** Run a become script (sudo / su / doas), asking for the sudo password when sudo wants one. */
  #runBecomeScript(
    script: StringCommand,
    options: FileOptions,
    extra: Partial<ShellProcessOptions> = {},
  ): Promise<CommandResult> {
    const args: ConnectorArguments = {
      ...becomeArguments(options),
      timeout: options.timeout,
      ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}),
    };
    return runWithSudoRetry(script, args, this.host.sudoPassword, (next, nextArgs) =>
      this.#runOnce(
        next,
        nextArgs,
        { signal: options.signal },
        { ...extra, stdin: nextArgs.stdin },
      ),
    );
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const dest = resolve(remotePath);
    const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(dest)}`;
    const parentSeen = await ensureParentDirectory(dest, options.createParents ?? false, action);
    if (!usesBecome(options)) {
      try {
        if (!parentSeen) await makeDirectory(dirname(dest));
        await putFileAsCurrentUser(src, dest, {
          mode: options.mode,
          signal: timeoutSignal(options),
        });
      } catch (error) {
        throw fileError(action, error, options);
      }
      return;
    }

    let source: Readable;
    try {
      source =
        typeof src === 'string' ? (await open(src, 'r')).createReadStream() : openFileSource(src);
    } catch (error) {
      throw fileError(`${action}: reading ${JSON.stringify(src)}`, error, options);
    }
    const tempPath = tempPathBeside(dest);
    const mode = options.mode ?? (await statIfExists(dest))?.mode ?? defaultFileMode();
    const script = makeBecomePutScript({
      destPath: dest,
      tempPath,
      mode,
      createParents: !parentSeen,
    });
    let result: CommandResult;
    try {
      result = await this.#runBecomeScript(script, options, { stdin: source });
    } catch (error) {
      (source as Readable).destroy();
      // SIGKILL (timeout, abort) skips the script's trap: remove the temp file here.
      await this.#runBecomeScript(makeRemoveScript(tempPath), { ...options, timeout: 30 }).catch(
        () => undefined,
      );
      if (error instanceof CommandTimeoutError) {
        throw new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
          cause: error,
        });
      }
      throw fileError(action, error, options);
    }
    source.destroy();
    if (!result.success) {
      throw new FileTransferError(
        `${action} as ${this.#becomeName(options)} failed (exit ${result.output.exitCode ?? result.output.signal}): ${result.output.stderr || 'no error output'}`,
      );
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const src = resolve(remotePath);
    const action = `getFile ${JSON.stringify(src)} -> ${describeFileEnd(dest)}`;
    if (!usesBecome(options)) {
      if (typeof dest === 'string') await ensureParentDirectory(resolve(dest), false, action);
      try {
        await getFileAsCurrentUser(src, typeof dest === 'string' ? resolve(dest) : dest, {
          mode: options.mode,
          signal: timeoutSignal(options),
        });
      } catch (error) {
        throw fileError(action, error, options);
      }
      return;
    }

    // As the become user: `cat SRC`, its bytes streamed into a temp file beside
    // the destination (or into the given stream).
    let sink: Writable;
    let tempPath: string | undefined;
    let localDest: string | undefined;
    if (typeof dest === 'string') {
      localDest = resolve(dest);
      await ensureParentDirectory(localDest, false, action);
      await refuseNonRegularLocalFile(localDest);
      tempPath = tempPathBeside(localDest);
      sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
    } else {
      sink = dest;
    }
    try {
      const result = await this.#runBecomeScript(makeBecomeGetScript(src), options, {
        stdoutSink: sink,
      });
      if (!result.success) {
        throw new FileTransferError(
          `${action} as ${this.#becomeName(options)} failed (exit ${result.output.exitCode ?? result.output.signal}): ${result.output.stderr || 'no error output'}`,
        );
      }
      sink.end();
      await finished(sink);
      if (tempPath !== undefined && localDest !== undefined) {
        const existing = await statIfExists(localDest);
        await chmod(tempPath, options.mode ?? existing?.mode ?? defaultFileMode());
        await rename(tempPath, localDest);
      }
    } catch (error) {
      if (tempPath !== undefined) {
        sink.destroy();
        await rm(tempPath, { force: true });
      }
      if (error instanceof CommandTimeoutError) {
        throw new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
          cause: error,
        });
      }
      throw fileError(action, error, options);
    }
  }

  #becomeName(options: FileOptions): string {
    if (options.suUser !== undefined) return `su ${options.suUser}`;
    if (options.sudo)
      return `sudo${options.sudoUser === undefined ? '' : ` -u ${options.sudoUser}`}`;
    return `doas${options.doasUser === undefined ? '' : ` -u ${options.doasUser}`}`;
  }
}
