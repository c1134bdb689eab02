import { randomBytes } from 'node:crypto';
import type { Duplex, Writable } from 'node:stream';
import {
  runWithRetries,
  runWithSudoRetry,
  sleep,
  sudoPasswordSourceFor,
} from '@infra/connector-utils';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  ConnectError,
  type ConnectorHost,
  type FileDestination,
  type FileOptions,
  type FileSource,
  isSuccess,
  makeUnixCommand,
  type NamesData,
  quote,
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  type RunShellCommandOptions,
  StringCommand,
  sh,
  type UnixCommandArguments,
  type UnixCommandOptions,
  withSudoPasswordStdin,
} from '@infra/core';
import { HostKeyChangedError, HostKeyRejectedError } from './known-hosts.js';
import { SshAuthError } from './ssh-auth.js';
import { SshConfigError } from './ssh-config.js';
import { SshConnection } from './ssh-connection.js';
import { SSH_DATA_META, type SshData } from './ssh-data.js';
import { SshFiles } from './ssh-files.js';
import { parseHostSpec, resolveSshSettings, type SshSettings } from './ssh-settings.js';
import { openUnixSocketChannel } from './unix-socket.js';

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
  /** putFile / getFile: SFTP, or the install script and `cat` as a become user. */
  readonly #files: SshFiles;

  constructor(host: ConnectorHost<SshData>) {
    super(host);
    const connector = this;
    this.#files = new SshFiles({
      get label() {
        return connector.host.name;
      },
      live: () => this.#live(),
      runOnce: (command, args, stdout, unixOptions) =>
        this.#runOnce(command, args, stdout, unixOptions),
      runShellCommand: (command, options) => this.runShellCommand(command, options),
      sudoPasswordSource: () => this.#sudoPasswordSource(),
      suPrompt: (args) => this.#suPrompt(args),
    });
  }

  get #label(): string {
    return this.host.name;
  }

  #resolveSettings(): Promise<SshSettings> {
    this.#settings ??= resolveSshSettings({
      hostName: this.host.name,
      data: this.host.data,
      hostData: this.host.hostData,
      ...(this.host.prompt === undefined ? {} : { askPassphrase: this.host.prompt }),
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
        const connection = await SshConnection.open(
          {
            ...settings.connection,
            onWarning: (message) => this.host.log.warn(`${this.#label}: ${message}`),
          },
          { onRetry: (retry) => this.host.log.debug(`${this.#label}: ${retry}`) },
        );
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

  /**
   * The contract's `runRawCommand`, for hosts that run through this one (`via=`):
   * `SHELL -c SCRIPT` on an exec channel, stdout's bytes to `io.stdout`, stderr's
   * lines to `io.stderr`, the channel's command killed when `io.signal` fires.
   */
  async runRawCommand(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const connection = await this.#live();
    const output = await connection.exec(
      `${quote(command.shell)} -c ${quote(command.script)}`,
      command.shownCommand,
      {
        ...(command.getPty === undefined ? {} : { getPty: command.getPty }),
        ...(command.passwordOnStdin ? { ptyNoEcho: true } : {}),
        ...(command.stdin === undefined ? {} : { stdin: command.stdin }),
        signal: io.signal,
        stdout: io.stdout,
        onOutput: (line) => {
          if (line.stream === 'stderr') io.stderr.write(`${line.line}\n`);
        },
      },
    );
    return { exitCode: output.exitCode, signal: output.signal };
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

  override putFile(src: FileSource, remotePath: string, options: FileOptions = {}): Promise<void> {
    return this.#files.putFile(src, remotePath, options);
  }

  override getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    return this.#files.getFile(remotePath, dest, options);
  }

  /** A stream to a unix socket on the host (the Docker API over ssh), on a channel of the connection. */
  async openUnixSocket(path: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    return openUnixSocketChannel(this.host.name, await this.#live(), path, options.signal);
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
