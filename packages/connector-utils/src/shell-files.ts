import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  type ConnectorArguments,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  openFileSource,
  type SudoPasswordSource,
} from '@infra/core';
import {
  makeInstallScript,
  makeReadScript,
  makeRemoveScript,
  tempPathBeside,
} from './file-scripts.js';
import { describeFsError, openLocalDestination } from './local-destination.js';
import { randomHex } from './random-hex.js';
import { type RunOnceOptions, runCommandOnce } from './raw-command.js';
import { becomeArguments, describeBecome, usesBecome } from './shell-invocation.js';
import { runWithSudoRetry } from './sudo-retry.js';
import type { RunRaw } from './transport.js';

/** What the become-aware put and get need of a connector. */
export interface ShellFilesContext {
  /** Runs one raw command on the target (the connector's transport). */
  readonly runRaw: RunRaw;
  /** Where the sudo password comes from (`sudoPasswordSourceFor(host)`). */
  readonly sudoPassword: SudoPasswordSource;
  /** The host's name, for messages. */
  readonly hostName: string;
  /** See `RunOnceOptions.killBecomeOnStop`. */
  readonly killBecomeOnStop?: boolean | undefined;
  /** See `RunOnceOptions.killFrom`. */
  readonly killFrom?: RunRaw | undefined;
  /**
   * One run of a file script, for a connector with its own way of running some
   * (ssh answers su's password prompt); default `runCommandOnce` through `runRaw`.
   */
  readonly runOnce?: (
    command: CommandInput,
    args: ConnectorArguments,
    options: RunOnceOptions,
  ) => Promise<CommandResult>;
}

/** Seconds a cleanup of a killed script's temp file may take. */
const CLEANUP_TIMEOUT = 30;

/** Run a file script as the login user, or as the become user the options ask for. */
export function runFileScript(
  context: ShellFilesContext,
  script: CommandInput,
  options: FileOptions,
  extra: Pick<ConnectorArguments, 'stdin'> & Pick<RunOnceOptions, 'stdoutSink'> = {},
): Promise<CommandResult> {
  const args: ConnectorArguments = {
    ...becomeArguments(options),
    timeout: options.timeout,
    ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}),
  };
  const runOnce =
    context.runOnce ??
    ((command: CommandInput, nextArgs: ConnectorArguments, once: RunOnceOptions) =>
      runCommandOnce(context.runRaw, command, nextArgs, once));
  return runWithSudoRetry(script, args, context.sudoPassword, (next, nextArgs) =>
    runOnce(next, nextArgs, {
      signal: options.signal,
      stdoutSink: extra.stdoutSink,
      killBecomeOnStop: context.killBecomeOnStop,
      killFrom: context.killFrom,
    }),
  );
}

/**
 * A file operation's failure as the one rule has it: an abort rejects with
 * `signal.reason`; a timeout with a `FileTransferError` saying "timed out after Ns"
 * (its cause the `CommandTimeoutError`); an `InfraError` as it is; anything else
 * as a `FileTransferError` naming the action.
 */
export function fileFailure(action: string, error: unknown, options: FileOptions): unknown {
  if (options.signal?.aborted) return options.signal.reason;
  if (error instanceof CommandTimeoutError) {
    return new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
      cause: error,
    });
  }
  if (error instanceof InfraError) return error;
  return new FileTransferError(`${action} failed: ${describeFsError(error)}`, { cause: error });
}

function scriptFailure(action: string, result: CommandResult, options: FileOptions): Error {
  const stderr = result.output.stderr.trim();
  const as = usesBecome(options) ? ` as ${describeBecome(options)}` : '';
  return new FileTransferError(
    `${action}${as} failed (exit ${result.output.exitCode ?? result.output.signal}): ${stderr || 'no error output'}`,
  );
}

/** A source's bytes and, when known, their number (a short copy is then refused). */
async function openSource(src: FileSource): Promise<{ stream: Readable; size?: number }> {
  if (Buffer.isBuffer(src)) return { stream: openFileSource(src), size: src.length };
  if (typeof src === 'string') {
    // Open first, so a missing source fails before anything runs on the target.
    const handle = await open(src, 'r');
    const size = (
      await handle.stat().catch(async (error) => {
        await handle.close();
        throw error;
      })
    ).size;
    return { stream: handle.createReadStream(), size };
  }
  return { stream: src };
}

/** The stream's bytes, then `mark`; an error of the stream is this one's. */
function followedBy(stream: Readable, mark: string): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of stream) yield chunk as Buffer;
      yield Buffer.from(mark);
    })(),
    { objectMode: false },
  );
}

/**
 * The one become-aware put: the bytes go on the stdin of `makeInstallScript`, run
 * as the login or become user, which stages them in a temp file beside the
 * destination and renames it into place with the requested mode and the old owner
 * and mode kept. On a kill (timeout, abort, a lost transport) the temp file is
 * removed with `makeRemoveScript`; the destination keeps its old content.
 */
export async function putFileThroughShell(
  context: ShellFilesContext,
  src: FileSource,
  destPath: string,
  options: FileOptions = {},
): Promise<void> {
  const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(destPath)} on ${context.hostName}`;
  if (options.signal?.aborted) throw options.signal.reason;
  let source: { stream: Readable; size?: number };
  try {
    source = await openSource(src);
  } catch (error) {
    throw fileFailure(`${action}: reading ${describeFileEnd(src)}`, error, options);
  }
  const tempPath = tempPathBeside(destPath);
  // Content of unknown size ends with a mark: a stream cut short is never installed.
  const endMark = source.size === undefined ? randomHex(16) : undefined;
  const script = makeInstallScript({
    destPath,
    tempPath,
    mode: options.mode,
    createParents: options.createParents,
    size: source.size,
    endMark,
  });
  const stdin = endMark === undefined ? source.stream : followedBy(source.stream, endMark);
  let result: CommandResult;
  try {
    result = await runFileScript(context, script, options, { stdin });
  } catch (error) {
    source.stream.destroy();
    // SIGKILL (timeout, abort) skips the script's trap: remove the temp file here.
    await runFileScript(context, makeRemoveScript(tempPath), {
      ...options,
      signal: undefined,
      timeout: CLEANUP_TIMEOUT,
    }).catch(() => undefined);
    throw fileFailure(action, error, options);
  }
  source.stream.destroy();
  if (!result.success) throw scriptFailure(action, result, options);
}

/**
 * The one become-aware get: `cat` run as the login or become user, its bytes
 * streamed into the destination: a local path through a temp file and rename (a
 * failed download leaves the old file byte for byte), or a stream (ended).
 */
export async function getFileThroughShell(
  context: ShellFilesContext,
  srcPath: string,
  dest: FileDestination,
  options: FileOptions = {},
): Promise<void> {
  const action = `getFile ${JSON.stringify(srcPath)} on ${context.hostName} -> ${describeFileEnd(dest)}`;
  if (options.signal?.aborted) throw options.signal.reason;
  const destination = await openLocalDestination(dest, { mode: options.mode }).catch((error) => {
    throw fileFailure(action, error, options);
  });
  try {
    const result = await runFileScript(context, makeReadScript(srcPath), options, {
      stdoutSink: destination.sink,
    });
    if (!result.success) throw scriptFailure(action, result, options);
    await destination.commit();
  } catch (error) {
    await destination.discard();
    throw fileFailure(action, error, options);
  }
}
