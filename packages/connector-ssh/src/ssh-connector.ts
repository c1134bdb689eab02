import type { Duplex } from 'node:stream';
import {
  type RunOnceOptions,
  runCommandOnce,
  TransportConnector,
  untilAborted,
  usesBecome,
} from '@infra/connector-utils';
import {
  type CommandInput,
  type CommandResult,
  ConnectError,
  type ConnectorArguments,
  type FileDestination,
  type FileOptions,
  type FileSource,
  type NamesData,
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  toStringCommand,
} from '@infra/core';
import { runOnChannel } from './channel-command.js';
import { CommandSessionHolder } from './command-session-holder.js';
import { SftpFiles, sshFileFailure } from './sftp-files.js';
import type { SshConnection } from './ssh-connection.js';
import { SSH_DATA_META, type SshData } from './ssh-data.js';
import { SshLink } from './ssh-link.js';
import { parseHostSpec } from './ssh-settings.js';
import { afterSuMarker, makeSuPrompt, type SuPrompt } from './su-prompt.js';
import { openUnixSocketChannel } from './unix-socket.js';

/**
 * The SSH connector: one ssh2 connection per host (`SshLink`), each command in
 * its command session or on an exec channel of it (its transport, `runRaw`),
 * plain files over SFTP. Become, the sudo retry, retries, timeouts and aborts,
 * and the become-aware put and get come from `TransportConnector`.
 */
export class SshConnector extends TransportConnector<SshData> {
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

  /** The connection, opened when first needed and again after a drop. */
  readonly #link = new SshLink(this.host);
  /** The long-lived remote shell that runs plain commands without an exec channel each. */
  readonly #sessions = new CommandSessionHolder();
  /** putFile / getFile as the login user, over SFTP. */
  readonly #sftp = new SftpFiles({
    hostName: this.host.name,
    live: (signal) => this.#live(signal),
    run: (command, signal) => this.runShellCommand(command, { signal }),
  });

  /**
   * The live connection for a call that `signal` stops: it stops waiting for a
   * (re)connect when the signal aborts; the connect goes on for the other callers.
   */
  #live(signal: AbortSignal | undefined): Promise<SshConnection> {
    return untilAborted(this.#link.live(), signal);
  }

  /** The live connection (opened or re-opened when needed), for what else runs over it. */
  protected connection(): Promise<SshConnection> {
    return this.#link.live();
  }

  override async connect(): Promise<void> {
    await this.#link.live();
  }

  override async disconnect(): Promise<void> {
    this.#sessions.close();
    await this.#link.close();
  }

  /** Remote paths as given: a relative one is relative to the login user's home, as in ssh. */
  protected override resolveRemotePath(path: string): string {
    return path;
  }

  /**
   * A command without stdin, terminal or secret runs in the connection's command
   * session when it is idle (`ssh_command_session`); any other on an exec channel.
   */
  protected override async runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const connection = await this.#live(io.signal);
    if (this.host.data.ssh_command_session !== false) {
      const exit = await this.#sessions.run(connection, command, io);
      if (exit) return exit;
    }
    return runOnChannel(connection, command, io);
  }

  /** With `suUser` alone and `su_password` set: how to answer su's prompt. */
  #suPrompt(args: ConnectorArguments): SuPrompt | undefined {
    const password = this.host.data.su_password as { getRawValue(): string } | string | undefined;
    if (args.suUser === undefined || args.sudo || args.doas || password === undefined) return;
    return makeSuPrompt(typeof password === 'string' ? password : password.getRawValue());
  }

  /**
   * One run through the shared pipeline. With su and `su_password`, su's prompt is
   * answered. With `shellExecutable: null`, or a user switch (which starts its own
   * shell), the login shell runs the built command as is, as OpenSSH's `ssh host
   * CMD` does: no `sh -c` around it.
   */
  protected override runOnce(
    command: CommandInput,
    args: ConnectorArguments,
    options: RunOnceOptions,
  ): Promise<CommandResult> {
    const su = this.#suPrompt(args);
    if (su) {
      return runCommandOnce(
        async (raw, io) => runOnChannel(await this.#live(io.signal), raw, io, { su }),
        afterSuMarker(command, su.marker),
        args,
        { ...options, shownCommand: String(toStringCommand(command)), killBecomeOnStop: false },
      );
    }
    const asIs = args.shellExecutable === null || usesBecome(args);
    if (!asIs) return super.runOnce(command, args, options);
    return runCommandOnce(
      async (raw, io) => runOnChannel(await this.#live(io.signal), raw, io, { asIs }),
      command,
      args,
      options,
    );
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    if (!usesBecome(options)) return this.#sftp.putFile(src, remotePath, options);
    return super.putFile(src, remotePath, options).catch((error: unknown) => {
      throw sshFileFailure(
        `putFile -> ${JSON.stringify(remotePath)} on ${this.host.name}`,
        error,
        options,
      );
    });
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    if (!usesBecome(options)) return this.#sftp.getFile(remotePath, dest, options);
    return super.getFile(remotePath, dest, options).catch((error: unknown) => {
      throw sshFileFailure(
        `getFile ${JSON.stringify(remotePath)} on ${this.host.name}`,
        error,
        options,
      );
    });
  }

  /** A stream to a unix socket on the host (the Docker API over ssh), on a channel of the connection. */
  async openUnixSocket(path: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    return openUnixSocketChannel(
      this.host.name,
      await this.#live(options.signal),
      path,
      options.signal,
    );
  }
}
