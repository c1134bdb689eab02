import {
  type CommandInput,
  type CommandResult,
  ConnectError,
  type Connector,
  type FileDestination,
  type FileOptions,
  type FileSource,
  type RunShellCommandOptions,
} from '@infra/core';
import { errorMessage } from './error-message.js';

/**
 * One connection to a via host, shared by every host that rides on it: connected
 * once, before the first rider's `connect()`, and disconnected when every rider
 * has disconnected (a rider that connects again, as after a reboot, connects it
 * again if it had been closed). A via host that could not connect stays failed.
 */
export class SharedVia {
  readonly name: string;
  readonly connector: Connector;
  readonly #upstream: SharedVia | undefined;
  readonly #riders = new Set<object>();
  readonly #connected = new Set<object>();
  readonly #finished = new Set<object>();
  #connecting: Promise<void> | undefined;

  constructor(name: string, connector: Connector, upstream?: SharedVia) {
    this.name = name;
    this.connector = connector;
    this.#upstream = upstream;
    upstream?.register(this);
  }

  /** Count a rider, so the connection stays until it is done. */
  register(rider: object): void {
    this.#riders.add(rider);
  }

  /** Connect (once) for this rider. */
  acquire(rider: object): Promise<void> {
    this.#connected.add(rider);
    this.#finished.delete(rider);
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    if (this.#upstream) {
      try {
        await this.#upstream.acquire(this);
      } catch (error) {
        throw new ConnectError(
          this.name,
          `it runs via ${this.#upstream.name}, which could not connect: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    }
    await this.connector.connect();
  }

  /** This rider is done: the last one disconnects. */
  async release(rider: object): Promise<void> {
    this.#connected.delete(rider);
    this.#finished.add(rider);
    if (this.#connected.size > 0 || this.#finished.size < this.#riders.size) return;
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (connecting) {
      await connecting.catch(() => undefined);
      await this.connector.disconnect();
    }
    await this.#upstream?.release(this);
  }
}

/**
 * A host that runs through a via host: its own connector, whose `connect()` first
 * connects the shared via host (a failure there fails this host, naming the via
 * host) and whose `disconnect()` then lets the via host go.
 */
export class RidingConnector implements Connector {
  readonly #inner: Connector;
  readonly #name: string;
  readonly #via: SharedVia;
  /** Released: the via host was let go since the last `connect()`. */
  #done = false;
  runRawCommand?: Connector['runRawCommand'];
  openUnixSocket?: Connector['openUnixSocket'];

  constructor(name: string, inner: Connector, via: SharedVia) {
    this.#name = name;
    this.#inner = inner;
    this.#via = via;
    via.register(this);
    if (inner.runRawCommand) this.runRawCommand = inner.runRawCommand.bind(inner);
    if (inner.openUnixSocket) this.openUnixSocket = inner.openUnixSocket.bind(inner);
  }

  async connect(): Promise<void> {
    this.#done = false;
    try {
      await this.#via.acquire(this);
    } catch (error) {
      throw new ConnectError(
        this.#name,
        `it runs via ${this.#via.name}, which could not connect: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    await this.#inner.connect();
  }

  async disconnect(): Promise<void> {
    try {
      await this.#inner.disconnect();
    } finally {
      if (!this.#done) {
        this.#done = true;
        await this.#via.release(this);
      }
    }
  }

  runShellCommand(command: CommandInput, options?: RunShellCommandOptions): Promise<CommandResult> {
    return this.#inner.runShellCommand(command, options);
  }

  putFile(src: FileSource, remotePath: string, options?: FileOptions): Promise<void> {
    return this.#inner.putFile(src, remotePath, options);
  }

  getFile(remotePath: string, dest: FileDestination, options?: FileOptions): Promise<void> {
    return this.#inner.getFile(remotePath, dest, options);
  }
}
