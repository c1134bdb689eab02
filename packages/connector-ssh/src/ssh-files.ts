import { randomBytes } from 'node:crypto';
import { WriteStream } from 'node:fs';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import {
  becomeArguments,
  makeInstallScript,
  openLocalDestination,
  runWithSudoRetry,
  tempPathBeside,
  usesBecome,
} from '@infra/connector-utils';
import {
  type CommandInput,
  type CommandResult,
  describeFileEnd,
  describeFileKind,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  NotRegularFileError,
  openFileSource,
  type RunShellCommandOptions,
  type StringCommand,
  type SudoPasswordSource,
  sh,
  type UnixCommandArguments,
  type UnixCommandOptions,
} from '@infra/core';
import type { SftpSession } from './sftp-session.js';
import { SftpSessions } from './sftp-sessions.js';
import {
  downloadStream,
  sftpChmod,
  sftpReplace,
  sftpStat,
  sftpUnlink,
  uploadStream,
} from './sftp-transfer.js';
import { type SshConnection, SshConnectionLostError } from './ssh-connection.js';
import { PUT_TEMP, UPLOAD_TEMP } from './stale-temps.js';
import { openSource, type TransferStop, transferStop } from './transfer-stop.js';

type BecomeArguments = UnixCommandArguments;

/** What the file transfers need of their connector. */
export interface SshFilesHost {
  readonly label: string;
  live(): Promise<SshConnection>;
  runOnce(
    command: CommandInput,
    args: RunShellCommandOptions,
    stdout?: Writable,
    unixOptions?: UnixCommandOptions,
  ): Promise<CommandResult>;
  runShellCommand(command: CommandInput, options?: RunShellCommandOptions): Promise<CommandResult>;
  sudoPasswordSource(): SudoPasswordSource;
  suPrompt(args: BecomeArguments): { marker: string; password: string } | undefined;
}

function tempSuffix(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The SSH connector's files: as the login user over SFTP (a temp file beside the
 * target, mode, rename); as a become user through the shared install script and
 * `cat` on a channel. A stopped transfer (abort, timeout) leaves no temp file.
 */
export class SshFiles {
  readonly #ssh: SshFilesHost;
  readonly #sftp = new SftpSessions();

  constructor(ssh: SshFilesHost) {
    this.#ssh = ssh;
  }

  /** Run a helper command for a file transfer; throw `FileTransferError` when it fails. */
  async #runForFile(
    command: StringCommand,
    become: BecomeArguments,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const result = await this.#ssh.runShellCommand(command, {
      ...become,
      ...(signal ? { signal } : {}),
    });
    if (!result.success) {
      const code = result.output.signal ?? `exit code ${result.output.exitCode}`;
      throw new FileTransferError(
        `${what} on ${this.#ssh.label} failed (${code}): ${result.output.stderr || result.output.stdout || 'no output'}`,
      );
    }
  }

  /** The error a transfer ends with: a stopped one says so, the rest name both ends. */
  #fileError(what: string, error: unknown, options: FileOptions, stop: TransferStop): Error {
    // The one abort rule: an aborted transfer rejects with the signal's reason.
    if (options.signal?.aborted) return options.signal.reason as Error;
    if (stop.signal?.aborted) {
      return new FileTransferError(
        `${what} on ${this.#ssh.label} timed out after ${options.timeout}s.`,
        {
          cause: error,
        },
      );
    }
    // A lost connection fails the transfer, named like every other transfer failure.
    if (error instanceof InfraError && !(error instanceof SshConnectionLostError)) return error;
    return new FileTransferError(
      `${what} on ${this.#ssh.label} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }

  async putFile(src: FileSource, remotePath: string, options: FileOptions = {}): Promise<void> {
    const become = becomeArguments(options);
    const what = `upload of ${describeFileEnd(src)} to ${remotePath}`;
    const stop = transferStop(options);
    try {
      if (options.createParents) {
        await this.#runForFile(
          sh`mkdir -p ${posix.dirname(remotePath)}`,
          become,
          `${what}: creating the parent directory`,
          stop.signal,
        );
      }
      if (this.#ssh.suPrompt(become)) {
        await this.#putWithSuPassword(src, remotePath, options, become, what, stop);
        return;
      }
      const connection = await this.#ssh.live();
      const session = await this.#sftp.open(connection, what, this.#ssh.label);
      try {
        if (usesBecome(become)) {
          await this.#putWithBecome(
            connection,
            session,
            src,
            remotePath,
            options,
            become,
            what,
            stop,
          );
        } else {
          await this.#putDirect(connection, session, src, remotePath, options, stop);
        }
      } finally {
        session.end();
      }
    } catch (error) {
      throw this.#fileError(what, error, options, stop);
    } finally {
      stop.dispose();
    }
  }

  /**
   * As the login user: upload to a 0600 temporary file beside the target, give it
   * its mode (the one asked for, else the replaced file's, else a new file's under
   * the server's umask), then rename it over the target. A target that is not a
   * regular file is refused. Temporary files that an earlier transfer left in
   * that directory when its connection was lost are removed on the way.
   */
  async #putDirect(
    connection: SshConnection,
    session: SftpSession,
    src: FileSource,
    remotePath: string,
    options: FileOptions,
    stop: TransferStop,
  ): Promise<void> {
    const dir = posix.dirname(remotePath);
    const temp = posix.join(dir, `.${posix.basename(remotePath)}.infra-${tempSuffix()}`);
    // Asked while the bytes go: the answer is needed only for the mode and the rename.
    const target = sftpStat(session, remotePath).catch(() => undefined);
    let sweep: Promise<unknown> = Promise.resolve();
    try {
      await uploadStream(session, openSource(session, src), temp, 0o600, stop.signal, {
        onOpen: () => {
          sweep = this.#sftp.sweepOnce(connection, session, temp, PUT_TEMP);
        },
      });
      const existing = await target;
      if (existing && !existing.isFile()) {
        throw new NotRegularFileError(remotePath, describeFileKind(existing.mode), this.#ssh.label);
      }
      const mode =
        options.mode ??
        (existing
          ? existing.mode & 0o7777
          : await this.#sftp.newFileMode(connection, session, dir));
      await sftpChmod(session, temp, mode);
      stop.signal?.throwIfAborted();
      await sweep;
      await sftpReplace(session, temp, remotePath);
    } catch (error) {
      await sweep;
      await sftpUnlink(session, temp).catch(() => {});
      throw error;
    }
  }

  /**
   * With become: upload to a 0600 file in /tmp as the login user, then the become
   * user copies it in beside the target and renames it over. Both temporary files
   * are removed on every path, a stopped transfer included.
   */
  async #putWithBecome(
    connection: SshConnection,
    session: SftpSession,
    src: FileSource,
    remotePath: string,
    options: FileOptions,
    become: BecomeArguments,
    what: string,
    stop: TransferStop,
  ): Promise<void> {
    const upload = `/tmp/.infra-upload-${tempSuffix()}`;
    const staged = tempPathBeside(remotePath);
    let sweep: Promise<unknown> = Promise.resolve();
    try {
      await uploadStream(session, openSource(session, src), upload, 0o600, stop.signal, {
        onOpen: () => {
          sweep = this.#sftp.sweepOnce(connection, session, upload, UPLOAD_TEMP);
        },
      });
      await sweep;
      await this.#installWithSudoRetry(
        upload,
        staged,
        remotePath,
        options.mode,
        become,
        what,
        stop,
      );
    } finally {
      await sweep;
      await sftpUnlink(session, upload).catch(() => {});
      await this.#removeStagedAfterStop(staged, become, stop);
    }
  }

  /**
   * su with a password: su reads its password from the channel's stdin, so the
   * file cannot come through a pipe on the host. The bytes go over the same
   * channel's stdin once su has switched user, straight into the install script
   * (temporary file beside the target, mode and owner, rename).
   */
  async #putWithSuPassword(
    src: FileSource,
    remotePath: string,
    options: FileOptions,
    become: BecomeArguments,
    what: string,
    stop: TransferStop,
  ): Promise<void> {
    const staged = tempPathBeside(remotePath);
    try {
      const script = makeInstallScript({
        destPath: remotePath,
        tempPath: staged,
        mode: options.mode,
      });
      const result = await this.#ssh.runOnce(script, {
        ...become,
        stdin: openFileSource(src),
        ...(stop.signal ? { signal: stop.signal } : {}),
      });
      if (!result.success) {
        throw new FileTransferError(
          `${what} on ${this.#ssh.label} failed (exit code ${result.output.exitCode}): ${result.output.stderr || 'no output'}`,
        );
      }
    } finally {
      await this.#removeStagedAfterStop(staged, become, stop);
    }
  }

  /** A stopped transfer's install script was killed (SIGKILL skips its trap): remove what it may have left. */
  async #removeStagedAfterStop(
    staged: string,
    become: BecomeArguments,
    stop: TransferStop,
  ): Promise<void> {
    if (!stop.signal?.aborted) return;
    await this.#ssh.runShellCommand(sh`rm -f ${staged}`, become).catch(() => undefined);
  }

  /** The become install step through runWithSudoRetry (sudo may want a password). */
  async #installWithSudoRetry(
    upload: string,
    staged: string,
    remotePath: string,
    mode: number | undefined,
    become: BecomeArguments,
    what: string,
    stop: TransferStop,
  ): Promise<void> {
    const script = makeInstallScript({ destPath: remotePath, tempPath: staged, mode });
    // The uploaded file is the install script's stdin, opened as the login user.
    const result = await runWithSudoRetry(
      script,
      become,
      this.#ssh.sudoPasswordSource(),
      (_cmd, a) =>
        this.#ssh.runOnce(script, stop.signal ? { ...a, signal: stop.signal } : a, undefined, {
          stdinPath: upload,
        }),
    );
    if (!result.success) {
      throw new FileTransferError(
        `${what} on ${this.#ssh.label} failed (exit code ${result.output.exitCode}): ${result.output.stderr || 'no output'}`,
      );
    }
  }

  async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const become = becomeArguments(options);
    const what = `download of ${remotePath} to ${describeFileEnd(dest)}`;
    const stop = transferStop(options);
    try {
      if (typeof dest !== 'string') {
        await this.#download(remotePath, dest as Writable, become, what, stop);
        return;
      }
      // A local path gets the whole file or nothing: a temp file beside it, then rename.
      const local = await openLocalDestination(dest, { mode: options.mode });
      try {
        await this.#download(remotePath, local.sink, become, what, stop);
        await local.commit();
      } catch (error) {
        await local.discard();
        throw error;
      }
    } catch (error) {
      throw this.#fileError(what, error, options, stop);
    } finally {
      stop.dispose();
    }
  }

  /**
   * Copy a remote file into `out`. With become, the become user `cat`s it and the
   * bytes come straight over the channel's stdout: no temporary copy exists that
   * anyone else could read. Without, over SFTP.
   */
  async #download(
    remotePath: string,
    out: Writable,
    become: BecomeArguments,
    what: string,
    stop: TransferStop,
  ): Promise<void> {
    if (usesBecome(become)) {
      const read = sh`cat -- ${remotePath}`;
      const result = await runWithSudoRetry(
        read,
        become,
        this.#ssh.sudoPasswordSource(),
        (cmd, a) => this.#ssh.runOnce(cmd, stop.signal ? { ...a, signal: stop.signal } : a, out),
      );
      if (!result.success) {
        const code = result.output.signal ?? `exit code ${result.output.exitCode}`;
        throw new FileTransferError(
          `${what} on ${this.#ssh.label} failed (${code}): ${result.output.stderr || 'no output'}`,
        );
      }
      return;
    }
    const connection = await this.#ssh.live();
    const session = await this.#sftp.open(connection, what, this.#ssh.label);
    try {
      // A file stream of our own is done with a chunk once written: its buffers can be reused.
      await downloadStream(session, remotePath, out, stop.signal, {
        reuseBuffers: out instanceof WriteStream,
      });
    } finally {
      session.end();
    }
  }
}
