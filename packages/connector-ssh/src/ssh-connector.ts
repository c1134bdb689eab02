import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  ConnectError,
  type ConnectorArguments,
  type ConnectorHost,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  isSuccess,
  type MaskString,
  makeUnixCommand,
  type NamesData,
  openFileSource,
  QuoteString,
  type RunShellCommandOptions,
  runWithSudoRetry,
  StringCommand,
  type SudoPasswordSource,
  sh,
  type UnixCommandArguments,
} from '@infra/core';
import { HostKeyChangedError, HostKeyRejectedError } from './known-hosts.js';
import {
  downloadStream,
  sftpChmod,
  sftpReplace,
  sftpStat,
  sftpUnlink,
  uploadStream,
} from './sftp-transfer.js';
import { SshAuthError } from './ssh-auth.js';
import { SshConfigError } from './ssh-config.js';
import { SshConnection } from './ssh-connection.js';
import { SSH_DATA_META, type SshData } from './ssh-data.js';
import { parseHostSpec, resolveSshSettings, type SshSettings } from './ssh-settings.js';

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const BECOME_KEYS = [
  'sudo',
  'sudoUser',
  'useSudoLogin',
  'sudoPassword',
  'preserveSudoEnv',
  'suUser',
  'useSuLogin',
  'preserveSuEnv',
  'suShell',
  'doas',
  'doasUser',
] as const satisfies readonly (keyof UnixCommandArguments)[];

type BecomeArguments = Pick<UnixCommandArguments, (typeof BECOME_KEYS)[number]>;

function becomeArguments(options: FileOptions): BecomeArguments {
  const out: Record<string, unknown> = {};
  for (const key of BECOME_KEYS) if (options[key] !== undefined) out[key] = options[key];
  return out as BecomeArguments;
}

function usesBecome(args: BecomeArguments): boolean {
  return Boolean(args.sudo || args.suUser || args.doas);
}

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
        const connection = await SshConnection.open(settings.connection);
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
        await sleep(delay);
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

  #sudoPasswordSource(): SudoPasswordSource {
    const fromData = this.host.data.sudo_password;
    if (fromData !== undefined) return { get: () => Promise.resolve(fromData as MaskString) };
    return this.host.sudoPassword;
  }

  async #runOnce(
    command: CommandInput,
    args: ConnectorArguments,
    options: RunShellCommandOptions,
  ): Promise<CommandResult> {
    const unix = makeUnixCommand(command, args);
    const display = unix.toString();
    const connection = await this.#live();
    const output = await connection.exec(unix.getRawValue(), display, {
      ...(args.getPty === undefined ? {} : { getPty: args.getPty }),
      ...(args.stdin === undefined ? {} : { stdin: args.stdin }),
      ...(args.timeout === undefined ? {} : { timeout: args.timeout }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
    });
    return { success: isSuccess(output.exitCode, output.signal, args.successExitCodes), output };
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    const { onOutput: _onOutput, signal: _signal, ...args } = options;
    const retries = args.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      const result = await runWithSudoRetry(command, args, this.#sudoPasswordSource(), (cmd, a) =>
        this.#runOnce(cmd, a, options),
      );
      if (result.success || attempt >= retries) return result;
      await sleep((args.retryDelay ?? 0) * 1000);
    }
  }

  /** Run a helper command for a file transfer; throw `FileTransferError` when it fails. */
  async #runForFile(command: StringCommand, become: BecomeArguments, what: string): Promise<void> {
    const result = await this.runShellCommand(command, become);
    if (!result.success) {
      const code = result.output.signal ?? `exit code ${result.output.exitCode}`;
      throw new FileTransferError(
        `${what} on ${this.#label} failed (${code}): ${result.output.stderr || result.output.stdout || 'no output'}`,
      );
    }
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const become = becomeArguments(options);
    const what = `upload of ${describeFileEnd(src)} to ${remotePath}`;
    if (options.createParents) {
      await this.#runForFile(
        sh`mkdir -p ${posix.dirname(remotePath)}`,
        become,
        `${what}: creating the parent directory`,
      );
    }
    const connection = await this.#live();
    const session = await connection.sftp(what);
    const { sftp } = session;
    try {
      if (!usesBecome(become)) {
        const existing =
          options.mode === undefined
            ? await sftpStat(sftp, remotePath).catch(() => undefined)
            : undefined;
        const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o644);
        const temp = posix.join(
          posix.dirname(remotePath),
          `.${posix.basename(remotePath)}.infra-${tempSuffix()}`,
        );
        try {
          await uploadStream(sftp, openFileSource(src), temp, 0o600);
          await sftpChmod(sftp, temp, mode);
          await sftpReplace(sftp, temp, remotePath);
        } catch (error) {
          await sftpUnlink(sftp, temp).catch(() => {});
          throw error;
        }
        return;
      }
      // With become: upload as the login user, then copy into place as the target user.
      const temp = `/tmp/.infra-upload-${tempSuffix()}`;
      try {
        await uploadStream(sftp, openFileSource(src), temp, 0o600);
        await this.#installWithSudoRetry(temp, remotePath, options.mode, become, what);
      } finally {
        await sftpUnlink(sftp, temp).catch(() => {});
      }
    } catch (error) {
      if (error instanceof InfraError) throw error;
      throw new FileTransferError(`${what} on ${this.#label} failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      session.end();
    }
  }

  /** The become install step through runWithSudoRetry (sudo may want a password). */
  async #installWithSudoRetry(
    temp: string,
    remotePath: string,
    mode: number | undefined,
    become: BecomeArguments,
    what: string,
  ): Promise<void> {
    const script = installScript(remotePath, mode);
    const result = await runWithSudoRetry(script, become, this.#sudoPasswordSource(), (_cmd, a) =>
      this.#runOnce(
        StringCommand.of('cat', new QuoteString(temp), '|', makeUnixCommand(script, a)),
        { shellExecutable: 'sh' },
        {},
      ),
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
    const connection = await this.#live();
    let source = remotePath;
    let temp: string | undefined;
    try {
      if (usesBecome(become)) {
        temp = `/tmp/.infra-download-${tempSuffix()}`;
        const login = connection.endpoint.username;
        const copy = sh`umask 077 && cat ${remotePath} > ${temp} && { chown ${login} ${temp} 2>/dev/null || chmod 0644 ${temp}; }`;
        await this.#runForFile(copy, become, `${what}: copying to a readable temporary file`);
        source = temp;
      }
      const session = await connection.sftp(what);
      try {
        if (typeof dest === 'string') {
          const partial = `${dest}.infra-${tempSuffix()}`;
          try {
            const out = createWriteStream(partial);
            await downloadStream(session.sftp, source, out);
            out.end();
            await new Promise<void>((resolve, reject) => {
              out.once('finish', resolve);
              out.once('error', reject);
            });
            await rename(partial, dest);
          } catch (error) {
            await unlink(partial).catch(() => {});
            throw error;
          }
        } else {
          await downloadStream(session.sftp, source, dest as Writable);
        }
      } finally {
        session.end();
      }
    } catch (error) {
      if (error instanceof InfraError) throw error;
      throw new FileTransferError(`${what} on ${this.#label} failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      if (temp !== undefined) {
        await this.runShellCommand(sh`rm -f ${temp}`, become).catch(() => undefined);
      }
    }
  }
}

/**
 * The shell script that installs stdin at `target` as the current (become) user:
 * write a temporary file beside it, give it the mode (the given one, else the
 * existing file's) and the existing file's owner when allowed, then rename it
 * over the target. The temporary file is removed on every path.
 */
function installScript(target: string, mode: number | undefined): StringCommand {
  const temp = `${target}.infra-${tempSuffix()}`;
  const keepMode =
    mode === undefined
      ? sh`if [ -e "$dest" ]; then m=$(stat -c %a "$dest" 2>/dev/null || stat -f %Lp "$dest") && chmod "$m" "$t"; o=$(stat -c %u:%g "$dest" 2>/dev/null || stat -f %u:%g "$dest") && chown "$o" "$t" 2>/dev/null || true; fi`
      : sh`chmod ${mode.toString(8)} "$t"`;
  return sh`set -e; dest=${target}; t=${temp}; trap 'rm -f "$t"' EXIT; cat > "$t"; ${keepMode}; mv -f "$t" "$dest"`;
}
