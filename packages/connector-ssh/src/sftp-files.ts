import { WriteStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import {
  fileFailure,
  isInfraTempName,
  openLocalDestination,
  runStoppable,
  tempPathBeside,
  untilAborted,
} from '@infra/connector-utils';
import {
  type CommandResult,
  describeFileEnd,
  describeFileKind,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  NotRegularFileError,
  openFileSource,
  type StringCommand,
  sh,
} from '@infra/core';
import type { SftpSession } from './sftp-session.js';
import { SftpSessions } from './sftp-sessions.js';
import {
  downloadStream,
  readFileChunks,
  sftpReplace,
  sftpRequestSize,
  sftpSetModeAndOwner,
  sftpStat,
  stoppableRequest,
  uploadStream,
} from './sftp-transfer.js';
import { type SshConnection, SshConnectionLostError } from './ssh-connection.js';

/** What the SFTP transfers need of their connector. */
export interface SftpFilesHost {
  readonly hostName: string;
  /** The live connection; `signal` ends the wait for a (re)connect. */
  live(signal?: AbortSignal): Promise<SshConnection>;
  /** Run a helper command as the login user (`mkdir -p` of `createParents`). */
  run(command: StringCommand, signal: AbortSignal): Promise<CommandResult>;
}

/** The source's bytes; a local file is read in chunks of one SFTP WRITE request each, into reused buffers. */
function openSource(session: SftpSession, src: FileSource): Readable | AsyncIterable<Buffer> {
  if (typeof src !== 'string') return openFileSource(src);
  return readFileChunks(src, sftpRequestSize(session, 'write'));
}

/** The stop signal when something can fire it (a caller's signal, a timeout): none on the hot path. */
function stoppable(options: FileOptions, stop: AbortSignal): AbortSignal | undefined {
  return options.signal || (options.timeout ?? 0) > 0 ? stop : undefined;
}

/**
 * A failed transfer by the shared rule (`fileFailure`: an abort rejects with
 * `signal.reason`, a timeout says so), a lost connection named like every other
 * transfer failure.
 */
export function sshFileFailure(action: string, error: unknown, options: FileOptions): unknown {
  if (error instanceof SshConnectionLostError && !options.signal?.aborted) {
    return new FileTransferError(`${action} failed: ${error.message}`, { cause: error });
  }
  return fileFailure(action, error, options);
}

/**
 * The ssh connector's files as the login user, over SFTP (the plain case; with a
 * user switch the shared put and get run through exec channels). A put writes a
 * 0600 temp file beside the target, gives it its mode and the replaced file's
 * owner, then renames it over the target; no temp file is left on any failure or
 * stop. A get writes a local path through a temp file and rename.
 */
export class SftpFiles {
  readonly #host: SftpFilesHost;
  readonly #sessions = new SftpSessions();

  constructor(host: SftpFilesHost) {
    this.#host = host;
  }

  async putFile(src: FileSource, remotePath: string, options: FileOptions): Promise<void> {
    const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(remotePath)} on ${this.#host.hostName}`;
    try {
      await runStoppable(
        { shownCommand: action, timeout: options.timeout, signal: options.signal },
        async (stop) => {
          if (options.createParents) {
            const result = await this.#host.run(sh`mkdir -p ${posix.dirname(remotePath)}`, stop);
            if (!result.success) {
              throw new FileTransferError(
                `${action} failed: creating the parent directory: ${result.output.stderr || `exit code ${result.output.exitCode}`}`,
              );
            }
          }
          const { connection, session } = await this.#open(action, stoppable(options, stop));
          try {
            await this.#put(
              connection,
              session,
              src,
              remotePath,
              options,
              stoppable(options, stop),
            );
          } finally {
            session.end();
          }
        },
      );
    } catch (error) {
      throw sshFileFailure(action, error, options);
    }
  }

  /** The live connection (reconnecting if need be) and an SFTP session on it; both waits end on `signal`. */
  async #open(
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<{ connection: SshConnection; session: SftpSession & { end(): void } }> {
    const connection = await this.#host.live(signal);
    const session = await this.#sessions.open(connection, action, this.#host.hostName, signal);
    return { connection, session };
  }

  /**
   * Upload to a 0600 temp file beside the target, give it its mode (the one asked
   * for, else the replaced file's, else a new file's under the server's umask) and
   * the replaced file's owner where allowed, then rename it over the target. A
   * target that is not a regular file is refused. Temp files that an earlier
   * transfer left in that directory when its connection was lost are removed on
   * the way.
   */
  async #put(
    connection: SshConnection,
    session: SftpSession,
    src: FileSource,
    remotePath: string,
    options: FileOptions,
    stop: AbortSignal | undefined,
  ): Promise<void> {
    const dir = posix.dirname(remotePath);
    const temp = tempPathBeside(remotePath);
    // Asked while the bytes go: the answer is needed only for the mode and the rename.
    const target = sftpStat(session, remotePath).catch(() => undefined);
    let sweep: Promise<unknown> = this.#sessions.removeLeftovers(session);
    // Every wait below ends on the stop; a request is not sent after it.
    try {
      await uploadStream(session, openSource(session, src), temp, 0o600, stop, {
        onOpen: () => {
          sweep = Promise.all([
            sweep,
            this.#sessions.sweepOnce(connection, session, temp, isInfraTempName),
          ]);
        },
      });
      const existing = await untilAborted(target, stop);
      if (existing && !existing.isFile()) {
        throw new NotRegularFileError(
          remotePath,
          describeFileKind(existing.mode),
          this.#host.hostName,
        );
      }
      const mode =
        options.mode ??
        (existing
          ? existing.mode & 0o7777
          : await stoppableRequest(stop, () =>
              this.#sessions.newFileMode(connection, session, dir),
            ));
      await stoppableRequest(stop, () => sftpSetModeAndOwner(session, temp, mode, existing));
      await untilAborted(sweep, stop);
      await stoppableRequest(stop, () => sftpReplace(session, temp, remotePath));
    } catch (error) {
      // Bounded: a server that never answers keeps the put no longer than TEMP_CLEANUP_SECONDS.
      await this.#sessions.removeTemp(session, temp);
      throw error;
    }
  }

  async getFile(remotePath: string, dest: FileDestination, options: FileOptions): Promise<void> {
    const action = `getFile ${JSON.stringify(remotePath)} on ${this.#host.hostName} -> ${describeFileEnd(dest)}`;
    if (options.signal?.aborted) throw options.signal.reason;
    // A local path gets the whole file or nothing: a temp file beside it, then rename.
    const local = await openLocalDestination(dest, { mode: options.mode }).catch((error) => {
      throw sshFileFailure(action, error, options);
    });
    try {
      await runStoppable(
        { shownCommand: action, timeout: options.timeout, signal: options.signal },
        async (stop) => {
          const { session } = await this.#open(action, stoppable(options, stop));
          try {
            // A file stream of our own is done with a chunk once written: its buffers can be reused.
            await downloadStream(session, remotePath, local.sink, stoppable(options, stop), {
              reuseBuffers: local.sink instanceof WriteStream,
            });
          } finally {
            session.end();
          }
        },
      );
      await local.commit();
    } catch (error) {
      await local.discard();
      throw sshFileFailure(action, error, options);
    }
  }
}
