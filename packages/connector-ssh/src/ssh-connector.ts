import { randomBytes } from 'node:crypto';
import { WriteStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  becomeArguments,
  makeInstallScript,
  openLocalDestination,
  sudoPasswordSourceFor,
  tempPathBeside,
} from '@infra/connector-utils';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  ConnectError,
  type ConnectorHost,
  describeFileEnd,
  describeFileKind,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  isSuccess,
  makeUnixCommand,
  type NamesData,
  NotRegularFileError,
  openFileSource,
  type RunShellCommandOptions,
  runWithRetries,
  runWithSudoRetry,
  StringCommand,
  sh,
  sleep,
  type UnixCommandArguments,
  type UnixCommandOptions,
  usesBecome,
  withSudoPasswordStdin,
} from '@infra/core';
import { HostKeyChangedError, HostKeyRejectedError } from './known-hosts.js';
import { SftpSession } from './sftp-session.js';
import {
  downloadStream,
  readFileChunks,
  sftpChmod,
  sftpNewFileMode,
  sftpReplace,
  sftpRequestSize,
  sftpStat,
  sftpUnlink,
  uploadStream,
} from './sftp-transfer.js';
import { SshAuthError } from './ssh-auth.js';
import { SshConfigError } from './ssh-config.js';
import { SshConnection, SshConnectionLostError } from './ssh-connection.js';
import { SSH_DATA_META, type SshData } from './ssh-data.js';
import { parseHostSpec, resolveSshSettings, type SshSettings } from './ssh-settings.js';
import { PUT_TEMP, removeStaleTemps, UPLOAD_TEMP } from './stale-temps.js';

/** Network errors worth another connection attempt. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

function isTransient(error: unknown): boolean {
  if (
    error instanceof SshAuthError ||
    error instanceof HostKeyChangedError ||
    error instanceof HostKeyRejectedError ||
    error instanceof SshConfigError
  ) {
    return false;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const message = (error as Error).message ?? '';
  return /handshake|timed out|closed the connection|ECONNRESET|Connection lost/i.test(message);
}

type BecomeArguments = UnixCommandArguments;

function tempSuffix(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The SSH connector: one ssh2 connection per host, commands on channels of it,
 * files over SFTP, sudo / su / doas through `@infra/core`'s command builder.
 */
export class SshConnector extends BaseConnector<SshData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = SSH_DATA_META;
  static override readonly description =
    'Hosts over SSH (ssh2): exec channels, SFTP, ssh_config, known_hosts';

  /** `web1`, `deploy@web1:2222`, `[::1]:22` -> one host with ssh_hostname / ssh_user / ssh_port. */
  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg === undefined || arg === '') {
      throw new ConnectError(
        '@ssh',
        'no host given: expected @ssh:host, @ssh:user@host:port or a bare host name.',
      );
    }
    const spec = parseHostSpec(arg);
    const data: Record<string, unknown> = { ssh_hostname: spec.host };
    if (spec.user !== undefined) data.ssh_user = spec.user;
    if (spec.port !== undefined) data.ssh_port = spec.port;
    return [[arg, data, []]];
  }

  #connection: SshConnection | undefined;
  #connecting: Promise<SshConnection> | undefined;
  #settings: Promise<SshSettings> | undefined;
  /** A new file's mode under each connection's SFTP umask. */
  readonly #newFileModes = new WeakMap<SshConnection, number>();
  /** The directories each connection has looked for stale temporary files in. */
  readonly #swept = new WeakMap<SshConnection, Set<string>>();

  constructor(host: ConnectorHost<SshData>) {
    super(host);
  }

  get #label(): string {
    return this.host.name;
  }

  #resolveSettings(): Promise<SshSettings> {
    this.#settings ??= resolveSshSettings({
      hostName: this.host.name,
      data: this.host.data,
      hostData: this.host.hostData,
    }).then((settings) => {
      for (const warning of settings.warnings) this.host.log.warn(`${this.#label}: ${warning}`);
      return settings;
    });
    // A failed resolution (an unreadable config file) is tried again next time.
    this.#settings.catch(() => {
      this.#settings = undefined;
    });
    return this.#settings;
  }

  async #open(): Promise<SshConnection> {
    let settings: SshSettings;
    try {
      settings = await this.#resolveSettings();
    } catch (error) {
      throw new ConnectError(this.#label, (error as Error).message, { cause: error });
    }
    let delay = settings.retryMinDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const connection = await SshConnection.open({
          ...settings.connection,
          onWarning: (message) => this.host.log.warn(`${this.#label}: ${message}`),
        });
        this.host.log.debug(
          `${this.#label}: connected to ${connection.endpoint.host}:${connection.endpoint.port}`,
        );
        return connection;
      } catch (error) {
        const message = (error as Error).message;
        if (attempt >= settings.connectRetries || !isTransient(error)) {
          const tries = attempt > 0 ? ` (after ${attempt + 1} attempts)` : '';
          throw new ConnectError(this.#label, `${message}${tries}`, { cause: error });
        }
        this.host.log.debug(
          `${this.#label}: connect attempt ${attempt + 1} failed (${message}); retrying in ${Math.round(delay)} ms`,
        );
        await sleep(delay / 1000);
        delay = Math.min(settings.retryMaxDelayMs, Math.max(delay * 2, 1));
      }
    }
  }

  /** The live connection, opened (or re-opened after a drop) when needed. */
  async #live(): Promise<SshConnection> {
    if (this.#connection && !this.#connection.closed) return this.#connection;
    this.#connection = undefined;
    if (!this.#connecting) {
      const connecting = this.#open();
      this.#connecting = connecting;
      connecting.then(
        (connection) => {
          this.#connection = connection;
          this.#connecting = undefined;
        },
        () => {
          this.#connecting = undefined;
        },
      );
    }
    return this.#connecting;
  }

  override async connect(): Promise<void> {
    await this.#live();
  }

  override async disconnect(): Promise<void> {
    const pending = this.#connecting;
    this.#connecting = undefined;
    const connection =
      this.#connection ?? (pending ? await pending.catch(() => undefined) : undefined);
    this.#connection = undefined;
    connection?.close();
  }

  #sudoPasswordSource() {
    return sudoPasswordSourceFor(this.host);
  }

  /** With `suUser` alone and `su_password` set: how to answer su's prompt (see ExecOptions.suPrompt). */
  #suPrompt(args: BecomeArguments): { marker: string; password: string } | undefined {
    const password = this.host.data.su_password as { getRawValue(): string } | string | undefined;
    if (args.suUser === undefined || args.sudo || args.doas || password === undefined) return;
    return {
      marker: `infra-su-switched-${tempSuffix()}`,
      password: typeof password === 'string' ? password : password.getRawValue(),
    };
  }

  async #runOnce(
    command: CommandInput,
    args: RunShellCommandOptions,
    stdout?: Writable,
    unixOptions: UnixCommandOptions = {},
  ): Promise<CommandResult> {
    const suPrompt = this.#suPrompt(args);
    const unix = makeUnixCommand(
      suPrompt ? afterSuMarker(command, suPrompt.marker) : command,
      args,
      unixOptions,
    );
    const display = suPrompt
      ? makeUnixCommand(command, args, unixOptions).toString()
      : unix.toString();
    // A sudo password goes first on stdin, never on the command line.
    const stdin = withSudoPasswordStdin(args, args.stdin);
    const connection = await this.#live();
    const output = await connection
      .exec(unix.getRawValue(), display, {
        ...(suPrompt ? { suPrompt } : {}),
        ...(args.getPty === undefined ? {} : { getPty: args.getPty }),
        ...(stdin === args.stdin ? {} : { ptyNoEcho: true }),
        ...(stdin === undefined ? {} : { stdin }),
        ...(args.timeout === undefined ? {} : { timeout: args.timeout }),
        ...(args.signal === undefined ? {} : { signal: args.signal }),
        ...(args.onOutput === undefined ? {} : { onOutput: args.onOutput }),
        ...(stdout === undefined ? {} : { stdout }),
      })
      .catch((error: unknown) => {
        // The one abort rule: an aborted command rejects with the signal's reason.
        if (args.signal?.aborted) throw args.signal.reason;
        throw error;
      });
    return { success: isSuccess(output.exitCode, output.signal, args.successExitCodes), output };
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    return runWithRetries(command, options, this.host.log, () =>
      runWithSudoRetry(command, options, this.#sudoPasswordSource(), (cmd, a) =>
        this.#runOnce(cmd, a),
      ),
    );
  }

  /** Run a helper command for a file transfer; throw `FileTransferError` when it fails. */
  async #runForFile(
    command: StringCommand,
    become: BecomeArguments,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const result = await this.runShellCommand(command, {
      ...become,
      ...(signal ? { signal } : {}),
    });
    if (!result.success) {
      const code = result.output.signal ?? `exit code ${result.output.exitCode}`;
      throw new FileTransferError(
        `${what} on ${this.#label} failed (${code}): ${result.output.stderr || result.output.stdout || 'no output'}`,
      );
    }
  }

  /** The error a transfer ends with: a stopped one says so, the rest name both ends. */
  #fileError(what: string, error: unknown, options: FileOptions, stop: TransferStop): Error {
    // The one abort rule: an aborted transfer rejects with the signal's reason.
    if (options.signal?.aborted) return options.signal.reason as Error;
    if (stop.signal?.aborted) {
      return new FileTransferError(
        `${what} on ${this.#label} timed out after ${options.timeout}s.`,
        {
          cause: error,
        },
      );
    }
    // A lost connection fails the transfer, named like every other transfer failure.
    if (error instanceof InfraError && !(error instanceof SshConnectionLostError)) return error;
    return new FileTransferError(`${what} on ${this.#label} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }

  /**
   * Remove the stale temporary files beside `ownTemp` (just created) that match
   * `pattern`, once per directory and connection: what a lost connection left
   * is gone after the first put there, and later puts pay nothing.
   */
  #sweepOnce(
    connection: SshConnection,
    session: SftpSession,
    ownTemp: string,
    pattern: RegExp,
  ): Promise<unknown> {
    const dir = posix.dirname(ownTemp);
    const swept = this.#swept.get(connection) ?? new Set<string>();
    this.#swept.set(connection, swept);
    if (swept.has(dir)) return Promise.resolve();
    swept.add(dir);
    return removeStaleTemps(session, ownTemp, pattern);
  }

  /** The mode a new file gets from this connection's SFTP server (its umask), learnt once. */
  async #newFileMode(
    connection: SshConnection,
    session: SftpSession,
    dir: string,
  ): Promise<number> {
    let mode = this.#newFileModes.get(connection);
    if (mode === undefined) {
      mode = await sftpNewFileMode(session, posix.join(dir, `.infra-umask-${tempSuffix()}`));
      this.#newFileModes.set(connection, mode);
    }
    return mode;
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
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
      if (this.#suPrompt(become)) {
        await this.#putWithSuPassword(src, remotePath, options, become, what, stop);
        return;
      }
      const connection = await this.#live();
      const session = await this.#sftpSession(connection, what);
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
   * An SFTP session on its own channel whose requests all fail at once when the
   * channel or the connection is lost; `end()` it when done.
   */
  async #sftpSession(
    connection: SshConnection,
    what: string,
  ): Promise<SftpSession & { end: () => void }> {
    const opened = await connection.sftp(what);
    const session = new SftpSession(opened.sftp, this.#label);
    const stopWatching = connection.onLost((error) => session.lose(error));
    return Object.assign(session, {
      end: () => {
        stopWatching();
        opened.end();
      },
    });
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
          sweep = this.#sweepOnce(connection, session, temp, PUT_TEMP);
        },
      });
      const existing = await target;
      if (existing && !existing.isFile()) {
        throw new NotRegularFileError(remotePath, describeFileKind(existing.mode), this.#label);
      }
      const mode =
        options.mode ??
        (existing ? existing.mode & 0o7777 : await this.#newFileMode(connection, session, dir));
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
          sweep = this.#sweepOnce(connection, session, upload, UPLOAD_TEMP);
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
      const result = await this.#runOnce(script, {
        ...become,
        stdin: openFileSource(src),
        ...(stop.signal ? { signal: stop.signal } : {}),
      });
      if (!result.success) {
        throw new FileTransferError(
          `${what} on ${this.#label} failed (exit code ${result.output.exitCode}): ${result.output.stderr || 'no output'}`,
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
    await this.runShellCommand(sh`rm -f ${staged}`, become).catch(() => undefined);
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
    const result = await runWithSudoRetry(script, become, this.#sudoPasswordSource(), (_cmd, a) =>
      this.#runOnce(script, stop.signal ? { ...a, signal: stop.signal } : a, undefined, {
        stdinPath: upload,
      }),
    );
    if (!result.success) {
      throw new FileTransferError(
        `${what} on ${this.#label} failed (exit code ${result.output.exitCode}): ${result.output.stderr || 'no output'}`,
      );
    }
  }

  override async getFile(
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
      const result = await runWithSudoRetry(read, become, this.#sudoPasswordSource(), (cmd, a) =>
        this.#runOnce(cmd, stop.signal ? { ...a, signal: stop.signal } : a, out),
      );
      if (!result.success) {
        const code = result.output.signal ?? `exit code ${result.output.exitCode}`;
        throw new FileTransferError(
          `${what} on ${this.#label} failed (${code}): ${result.output.stderr || 'no output'}`,
        );
      }
      return;
    }
    const connection = await this.#live();
    const session = await this.#sftpSession(connection, what);
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

/**
 * The command, run only once su has switched user, announcing that on stderr
 * first: `printf MARKER >&2 && { command }`. Nothing of the command runs, and no
 * stdin is sent, before su has taken its password.
 */
function afterSuMarker(command: CommandInput, marker: string): StringCommand {
  return StringCommand.of(sh`printf '%s\n' ${marker} >&2 &&`, '{\n', command, '\n}');
}

/** The source's bytes; a local file is read in chunks of one SFTP WRITE request each, into reused buffers. */
function openSource(session: SftpSession, src: FileSource): Readable | AsyncIterable<Buffer> {
  if (typeof src !== 'string') return openFileSource(src);
  return readFileChunks(src, sftpRequestSize(session, 'write'));
}

/** One signal for a transfer: the caller's `signal` or the `timeout`, whichever comes first. */
interface TransferStop {
  readonly signal: AbortSignal | undefined;
  dispose(): void;
}

function transferStop(options: FileOptions): TransferStop {
  const timeout = options.timeout !== undefined && options.timeout > 0 ? options.timeout : 0;
  if (timeout === 0 && !options.signal) return { signal: undefined, dispose: () => {} };
  const controller = new AbortController();
  const caller = options.signal;
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeout > 0
      ? setTimeout(() => controller.abort(new Error(`timed out after ${timeout}s`)), timeout * 1000)
      : undefined;
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}
