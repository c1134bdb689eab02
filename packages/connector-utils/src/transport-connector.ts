import { posix } from 'node:path';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  type ConnectorArguments,
  type FileDestination,
  type FileOptions,
  type FileSource,
  type RunShellCommandOptions,
} from '@infra/core';
import { type RunOnceOptions, runCommandOnce } from './raw-command.js';
import { runWithRetries } from './retries.js';
import { getFileThroughShell, putFileThroughShell, type ShellFilesContext } from './shell-files.js';
import { runWithSudoRetry, sudoPasswordSourceFor } from './sudo-retry.js';
import type { RawCommand, RawCommandIo, RawExit, RunRaw } from './transport.js';

/**
 * The base class of a connector that writes only its transport: implement
 * `runRaw` (run one `SHELL -c SCRIPT` with stdin, stdout, stderr, and a kill when
 * `io.signal` fires), plus the statics and `connect()` / `disconnect()`. Everything
 * else comes from here: core's command builder, `retries`, the sudo retry with
 * `sudo_password` from host data, timeouts and aborts by the one rule, and
 * become-aware `putFile` / `getFile` through temp files and rename. A transport with
 * its own file API (SFTP, an archive API) may override `putFile` / `getFile` for
 * the plain case and call `super` when become is asked for.
 */
export abstract class TransportConnector<
  TData = Record<string, unknown>,
> extends BaseConnector<TData> {
  /**
   * A stopped sudo / su / doas command is first killed as the become user (see
   * `RunOnceOptions.killBecomeOnStop`): a transport's own kill runs as the login
   * user (sshd signals as that user), and su starts its command in a session of
   * its own. A transport whose kill reaches every process as root may turn it off.
   */
  protected get killBecomeOnStop(): boolean {
    return true;
  }

  /** Where that kill runs instead of the target (see `RunOnceOptions.killFrom`); undefined: the target. */
  protected get killFrom(): RunRaw | undefined {
    return undefined;
  }

  /** Run one raw command; stop it (all of it) when `io.signal` fires, and settle. */
  protected abstract runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit>;

  /**
   * The contract's `runRawCommand`: hosts that run through this one (`via=`) send
   * their commands and files here. The same as `runRaw`.
   */
  runRawCommand(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    return this.runRaw(command, io);
  }

  /**
   * One run of a command (of `runShellCommand`, and of the file scripts):
   * `runCommandOnce` through `runRaw`. A transport that runs some commands its own
   * way (ssh: su's password prompt, a command for the login shell as is) overrides it.
   */
  protected runOnce(
    command: CommandInput,
    args: ConnectorArguments,
    options: RunOnceOptions,
  ): Promise<CommandResult> {
    return runCommandOnce((raw, io) => this.runRaw(raw, io), command, args, options);
  }

  /** A remote path as the transport takes it: absolute (relative ones from `/`). */
  protected resolveRemotePath(path: string): string {
    return posix.resolve('/', path);
  }

  /** What the shared put and get need: the transport, the sudo password, the host name. */
  protected get filesContext(): ShellFilesContext {
    return {
      runRaw: (command, io) => this.runRaw(command, io),
      sudoPassword: sudoPasswordSourceFor(this.host),
      hostName: this.host.name,
      killBecomeOnStop: this.killBecomeOnStop,
      killFrom: this.killFrom,
      runOnce: (command, args, options) => this.runOnce(command, args, options),
    };
  }

  override runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    return runWithRetries(command, options, this.host.log, () =>
      runWithSudoRetry(command, options, sudoPasswordSourceFor(this.host), (next, args) =>
        this.runOnce(next, args, {
          onOutput: args.onOutput,
          signal: options.signal,
          killBecomeOnStop: this.killBecomeOnStop,
          killFrom: this.killFrom,
        }),
      ),
    );
  }

  override putFile(src: FileSource, remotePath: string, options: FileOptions = {}): Promise<void> {
    return putFileThroughShell(this.filesContext, src, this.resolveRemotePath(remotePath), options);
  }

  override getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    return getFileThroughShell(
      this.filesContext,
      this.resolveRemotePath(remotePath),
      dest,
      options,
    );
  }
}
