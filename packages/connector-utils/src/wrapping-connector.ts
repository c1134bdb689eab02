import { type CommandInput, type CommandResult, ConnectError } from '@infra/core';
import { ProcessGroups } from './local-process.js';
import { runRawLocally } from './local-transport.js';
import { runCommandOnce } from './raw-command.js';
import type { RawCommand, RawCommandIo, RawExit, RunRaw } from './transport.js';
import { TransportConnector } from './transport-connector.js';
import { runThroughVia } from './via-transport.js';
import type { Wrapper } from './wrapped-command.js';

/**
 * The base class of a connector whose target is entered by a program on some
 * machine (`chroot ROOT`, `nsenter -t PID -a`, `systemd-nspawn -D DIR`): implement
 * `wrapper` (the argv before `SHELL -c SCRIPT` and the environment inside) and the
 * statics; put `WRAPPING_DATA_META` in the `dataMeta`. Commands run on this machine
 * in a process group of their own, or, when the host runs through another
 * (`via=@ssh:web1`, `ConnectorHost.via`), as one quoted script through that host's
 * `runRawCommand`. Files go through the shared shell put and get, so through the
 * via host and then into the target. Everything else comes from `TransportConnector`.
 */
export abstract class WrappingConnector<
  TData = Record<string, unknown>,
> extends TransportConnector<TData> {
  /** How to enter the target. */
  protected abstract get wrapper(): Wrapper;

  /** Local process groups still running, killed by `disconnect()`. */
  readonly #groups = new ProcessGroups();

  /** Where the wrapper runs, for messages: `this machine` or the via host's name. */
  protected get wrapperHost(): string {
    if (!this.host.via) return 'this machine';
    return this.host.viaName ?? 'its via host';
  }

  /** One raw command where the wrapper runs (this machine or the via host), outside the target. */
  #outside(): RunRaw {
    const via = this.host.via;
    if (!via) return (command, io) => runRawLocally(command, io, { groups: this.#groups });
    const { runRawCommand } = via;
    if (!runRawCommand) {
      throw new ConnectError(
        this.host.name,
        `it runs via ${this.wrapperHost}, whose connector cannot run raw commands for other hosts (it has no runRawCommand): run it via a host whose connector can (@local, @ssh, @docker...).`,
      );
    }
    return (command, io) => runRawCommand.call(via, command, io);
  }

  /**
   * Run a command where the wrapper runs, outside the target (connect()'s checks:
   * root, the directory, the program), on this machine or on the via host.
   */
  protected async runOutside(command: CommandInput, timeout = 30): Promise<CommandResult> {
    return runCommandOnce(this.#outside(), command, { timeout });
  }

  /** Refuses a via host that cannot carry raw commands, naming both hosts. Subclasses call `super.connect()` first. */
  override async connect(): Promise<void> {
    this.#outside();
  }

  override async disconnect(): Promise<void> {
    this.#groups.killAll();
  }

  /** The transport: `PREFIX... SHELL -c SCRIPT` here, or wrapped into one script for the via host. */
  protected override async runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const { wrapper } = this;
    if (!this.host.via) {
      return runRawLocally(command, io, {
        prefix: wrapper.prefix,
        ...(wrapper.env ? { env: { ...wrapper.env } } : {}),
        ...(wrapper.clearEnv ? { clearEnv: true } : {}),
        groups: this.#groups,
      });
    }
    return runThroughVia(this.#outside(), command, wrapper, io);
  }
}
