import type { Duplex, Readable, Writable } from 'node:stream';
import type { CommandInput } from './command.js';
import type { DataMetaMap } from './connector-data.js';
import { ConnectorSpecError } from './errors.js';
import type { CommandResult, OutputLine } from './output.js';
import type { RawCommand, RawCommandIo, RawExit } from './raw-command.js';
import type { SecretPrompt, SudoPasswordSource } from './sudo-password.js';
import type { ConnectorArguments, UnixCommandArguments } from './unix-command.js';

/** The version of this contract. A connector built for another one is refused. */
export const SPECIFICATION_VERSION = 'v1' as const;
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

/** One inventory target: `[name, data, groups]`, as pyinfra's `make_names_data` yields. */
export type NamesData = readonly [name: string, data: Record<string, unknown>, groups: string[]];

/**
 * What the inventory knows of an entry when its connector's `makeNamesData` runs, so an
 * inventory connector can honour data given to it (`--data ssh_config_file=FILE`, or the
 * data of the inventory entry that names it). Optional: connectors may ignore it.
 */
export interface NamesDataContext {
  /**
   * The host data given to this entry so far, merged in the run's order (all, groups,
   * what outer inventory connectors yielded, the entry's own data, `--data`); values
   * as given (secrets may be `MaskString`s), not yet typed by any `dataMeta`.
   */
  readonly data: Readonly<Record<string, unknown>>;
}

export type NamesDataResult =
  | Iterable<NamesData>
  | AsyncIterable<NamesData>
  | Promise<Iterable<NamesData>>;

/** Where a connector writes what it has to say. Messages must already be masked. */
export interface ConnectorLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  /**
   * A result the user should see at normal verbosity that is no warning (the image a
   * docker build committed). Optional: a connector falls back to `info` without it.
   */
  notice?(message: string): void;
}

/** What a connector instance is given: its host, the host's data, the run's services. */
export interface ConnectorHost<TData = Record<string, unknown>> {
  /** The inventory name, e.g. `@local`, `web1`, `@docker:alpine:3.20`. */
  readonly name: string;
  /** The connector's typed data, built from host data with `buildConnectorData`. */
  readonly data: TData;
  /**
   * All of the host's data (the connector's keys and everyone else's). A connector
   * may add what it learns at connect, as pyinfra connectors do (e.g. `@rest`
   * keeps the resource's JSON under `rest_resource`); deploy code sees it.
   */
  readonly hostData: Record<string, unknown>;
  readonly log: ConnectorLogger;
  /** The run's sudo password, asked at most once and shared by every host. */
  readonly sudoPassword: SudoPasswordSource;
  /**
   * Ask the user for a secret with hidden input (an encrypted ssh key's passphrase),
   * one question at a time. The CLI supplies it when it runs on a terminal; library
   * use and runs without a terminal have none, and a connector that needs an answer
   * then fails with a `ConnectError` that names what to set (e.g. `ssh_key_password`
   * and the key file). Rejects when the user interrupts the question (Ctrl-C).
   */
  readonly prompt?: SecretPrompt;
  /**
   * The executing host this one runs through instead of this machine (what
   * `ConnectorClass.viaOf` names: by default the `via` data key, e.g. `via=@ssh:web1`).
   * The run connects it before this connector's `connect()`, shares it with every
   * host that rides on it, and disconnects it after the last of them. Undefined:
   * this machine.
   */
  readonly via?: Connector;
  /** The name of the `via` host (`@ssh:web1`), for messages that name both hosts. */
  readonly viaName?: string;
}

export interface RunShellCommandOptions extends ConnectorArguments {
  /** Called for every output line as it arrives. */
  onOutput?: (line: OutputLine) => void;
  /**
   * The command only reads (a fact): a connector may skip what it does after changes,
   * such as the docker connector's commit of a container to a new image.
   */
  readOnly?: boolean;
  /** Aborting kills the command (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

/** A file's content: a local path, the bytes, or a stream of them. */
export type FileSource = string | Buffer | Readable;
/** Where a downloaded file goes: a local path or a writable stream. */
export type FileDestination = string | Writable;

export interface FileOptions extends UnixCommandArguments {
  /** The new file's mode, e.g. 0o644. Kept from the existing file when not given, where the connector can. */
  mode?: number;
  /** Create missing parent directories of the remote path. */
  createParents?: boolean;
  timeout?: number;
  signal?: AbortSignal;
}

/** The instance side of the contract. */
export interface Connector {
  connect(): Promise<void>;
  /** Idempotent: a second call, or one without `connect()`, does nothing. */
  disconnect(): Promise<void>;
  runShellCommand(command: CommandInput, options?: RunShellCommandOptions): Promise<CommandResult>;
  /** Binary-safe and atomic: the remote path has the old content or the new, never half. */
  putFile(src: FileSource, remotePath: string, options?: FileOptions): Promise<void>;
  getFile(remotePath: string, dest: FileDestination, options?: FileOptions): Promise<void>;
  /**
   * Optional, for hosts that others run through: run one raw `SHELL -c SCRIPT`,
   * binary-safe, killed when `io.signal` fires (a wrapping connector such as
   * `@chroot` with `via=` sends its commands and files this way).
   */
  runRawCommand?(command: RawCommand, io: RawCommandIo): Promise<RawExit>;
  /**
   * Optional, for hosts that others run through: a byte stream to a unix socket on
   * the host (the Docker / Podman API over ssh). Rejects with `ConnectError`.
   */
  openUnixSocket?(path: string, options?: { signal?: AbortSignal }): Promise<Duplex>;
}

/** The host a connector runs through: a connection string or an inventory host name, and data for it. */
export interface ViaTarget {
  /** `@ssh:web1`, `@docker:debian`, or the name of a host of the run's inventory. */
  readonly connection: string;
  /** Host data for that host, over what its inventory entry or the riding host's data give. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** The data key that names the host to run through. A connector that can ride puts it in its `dataMeta`. */
export const VIA_DATA_KEY = 'via';

/** Spread into the `dataMeta` of a connector that can run through another host. */
export const VIA_DATA_META = {
  [VIA_DATA_KEY]: {
    description:
      'Run through this executing host instead of this machine: a connection string or an inventory host name (e.g. @ssh:web1)',
    type: 'string',
  },
} as const satisfies DataMetaMap;

/**
 * The static side of the contract. Checked by shape (`assertConnectorClass`), never
 * by `instanceof`, so two copies of `@infra/core` in one install work together.
 */
export interface ConnectorClass<TData = Record<string, unknown>> {
  readonly specificationVersion: SpecificationVersion;
  /** True for connectors that run commands; false for inventory-only connectors. */
  readonly handlesExecution: boolean;
  readonly dataMeta: DataMetaMap;
  /** One line for `infra connectors`. */
  readonly description?: string;
  makeNamesData(arg: string | undefined, context?: NamesDataContext): NamesDataResult;
  /**
   * Optional: the host this one runs through, from its host data (the docker
   * connector reads `docker_host=ssh://...`). Without it, `viaTargetOf` reads the
   * `via` data key.
   */
  viaOf?(hostData: Readonly<Record<string, unknown>>): ViaTarget | undefined;
  new (host: ConnectorHost<TData>): Connector;
}

/** The host a host of this connector class runs through, or undefined for this machine. */
export function viaTargetOf(
  connectorClass: Pick<ConnectorClass, 'viaOf' | 'dataMeta'>,
  hostData: Readonly<Record<string, unknown>>,
): ViaTarget | undefined {
  if (connectorClass.viaOf) return connectorClass.viaOf(hostData);
  if (!(VIA_DATA_KEY in connectorClass.dataMeta)) return undefined;
  const via = hostData[VIA_DATA_KEY];
  return typeof via === 'string' && via !== '' ? { connection: via } : undefined;
}

/**
 * The base class connectors extend (pyinfra's `BaseConnector`). Subclasses set the
 * statics and implement the abstract methods.
 */
export abstract class BaseConnector<TData = Record<string, unknown>> implements Connector {
  static readonly specificationVersion: SpecificationVersion = SPECIFICATION_VERSION;
  static readonly handlesExecution: boolean = false;
  static readonly dataMeta: DataMetaMap = {};
  static readonly description: string | undefined = undefined;

  /** Default: one host named after the connection string, no data, no groups. */
  static makeNamesData(arg: string | undefined): NamesDataResult {
    throw new ConnectorSpecError(
      // biome-ignore lint/complexity/noThisInStatic: the subclass's name, which is what the message needs
      `${this.name} does not implement static makeNamesData(${arg === undefined ? '' : JSON.stringify(arg)}).`,
    );
  }

  readonly host: ConnectorHost<TData>;

  constructor(host: ConnectorHost<TData>) {
    this.host = host;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  abstract runShellCommand(
    command: CommandInput,
    options?: RunShellCommandOptions,
  ): Promise<CommandResult>;

  abstract putFile(src: FileSource, remotePath: string, options?: FileOptions): Promise<void>;

  abstract getFile(remotePath: string, dest: FileDestination, options?: FileOptions): Promise<void>;
}

/**
 * The base class of inventory connectors (`handlesExecution` false, as pyinfra's
 * terraform connector): they only yield hosts from `makeNamesData`, whose names
 * are connection strings of connectors that run commands. Their instance methods
 * refuse with a `ConnectorSpecError`, since nothing should call them.
 */
export abstract class InventoryConnector<
  TData = Record<string, unknown>,
> extends BaseConnector<TData> {
  static override readonly handlesExecution: boolean = false;

  #inventoryOnly(method: string): Promise<never> {
    return Promise.reject(
      new ConnectorSpecError(
        `${this.constructor.name}.${method}() was called for ${this.host.name}, but it only generates inventory: its hosts run through the connectors their names give.`,
      ),
    );
  }

  override runShellCommand(): Promise<CommandResult> {
    return this.#inventoryOnly('runShellCommand');
  }

  override putFile(): Promise<void> {
    return this.#inventoryOnly('putFile');
  }

  override getFile(): Promise<void> {
    return this.#inventoryOnly('getFile');
  }
}

const INSTANCE_METHODS = [
  'connect',
  'disconnect',
  'runShellCommand',
  'putFile',
  'getFile',
] as const;

/**
 * Check that a value loaded from a package is a connector class for this contract
 * version, with a message that says what is wrong and what to do.
 */
export function assertConnectorClass(
  value: unknown,
  where: string,
): asserts value is ConnectorClass {
  if (typeof value !== 'function') {
    throw new ConnectorSpecError(
      `${where} does not export a connector class (got ${value === null ? 'null' : typeof value}). Export the class as the default export.`,
    );
  }
  const candidate = value as unknown as Record<string, unknown> & {
    prototype: Record<string, unknown>;
  };
  const version = candidate.specificationVersion;
  if (version !== SPECIFICATION_VERSION) {
    throw new ConnectorSpecError(
      `${where} implements connector specification ${JSON.stringify(version)}, but this infra expects ${JSON.stringify(SPECIFICATION_VERSION)}. Install a version of the connector built for @infra/core with specification ${SPECIFICATION_VERSION}.`,
    );
  }
  if (typeof candidate.makeNamesData !== 'function') {
    throw new ConnectorSpecError(`${where} has no static makeNamesData(arg) method.`);
  }
  if (typeof candidate.handlesExecution !== 'boolean') {
    throw new ConnectorSpecError(`${where} has no static boolean handlesExecution.`);
  }
  if (typeof candidate.dataMeta !== 'object' || candidate.dataMeta === null) {
    throw new ConnectorSpecError(`${where} has no static dataMeta object.`);
  }
  if (candidate.handlesExecution) {
    const missing = INSTANCE_METHODS.filter((m) => typeof candidate.prototype?.[m] !== 'function');
    if (missing.length > 0) {
      throw new ConnectorSpecError(`${where} executes commands but lacks ${missing.join(', ')}.`);
    }
  }
}

/** Collect what `makeNamesData` yields, whether it returns a list, a generator or a promise. */
export async function collectNamesData(
  connector: Pick<ConnectorClass, 'makeNamesData'>,
  arg: string | undefined,
  context?: NamesDataContext,
): Promise<NamesData[]> {
  const result = await connector.makeNamesData(arg, context);
  const out: NamesData[] = [];
  for await (const entry of result as AsyncIterable<NamesData>) out.push(entry);
  return out;
}
