import {
  buildConnectorData,
  ConnectorDataError,
  collectNamesData,
  type DataMetaMap,
  InventoryError,
  MaskString,
  parseConnectionString,
  VIA_DATA_KEY,
  viaTargetOf,
} from '@infra/core';
import type { LoadedConnector } from '@infra/core/resolver';
import { hostDataError, sourceOfKey } from './data-key-check.js';
import { hostDataFor, mergeDataLayers, type SecretSink, secretKeysOf } from './host-data.js';

/** The executing host another one runs through (`via=@ssh:web1`), resolved and typed. */
export interface ViaHost {
  /** Its name: the inventory host's, or what its connector's `makeNamesData` yields. */
  readonly name: string;
  readonly connector: LoadedConnector;
  /** Its connector's typed data. */
  readonly data: Record<string, unknown>;
  /** Its host data: its own, the riding host's keys its connector reads, the via target's. */
  readonly hostData: Record<string, unknown>;
  readonly secretKeys: readonly string[];
  /** The data keys of its connector and of every host further up the chain. */
  readonly dataMeta: DataMetaMap;
  /** The host it runs through in turn, if any. */
  readonly via?: ViaHost;
  /** Same name and same data: the same connection, shared by every host riding on it. */
  readonly identity: string;
}

/** A host of the run as the via resolution sees it: its connector and its data (typed by a given dataMeta). */
export interface ViaCandidate {
  readonly name: string;
  readonly connector: LoadedConnector;
  /** Where it was defined, for messages (`the inventory entry "web1"`). */
  readonly source: string;
  /** Its host data, with values typed by `dataMeta` (the `--data` overrides applied). */
  readonly dataFor: (dataMeta: DataMetaMap) => Record<string, unknown>;
}

export interface ViaResolverOptions {
  /** The hosts of the run, by name: a via naming one of them means that host. */
  readonly hosts: ReadonlyMap<string, ViaCandidate>;
  readonly load: (connector: string) => Promise<LoadedConnector>;
  readonly secrets: SecretSink;
}

/** How many hosts a chain of `via` may hold before it is refused. */
const MAX_VIA_DEPTH = 8;

function chainText(chain: readonly string[]): string {
  return chain.map((link) => JSON.stringify(link)).join(' -> ');
}

/** A stable text of host data (secrets by their raw value), for telling connections apart. */
function identityOf(name: string, hostData: Readonly<Record<string, unknown>>): string {
  const entries = Object.keys(hostData)
    .sort()
    .map((key) => {
      const value = hostData[key];
      return [key, value instanceof MaskString ? { secret: value.getRawValue() } : value];
    });
  return JSON.stringify([name, entries]);
}

/**
 * The values the via host takes from the host riding on it: those of the keys its
 * connector declares and the rider's does not (the rider's own keys, `via` among
 * them, are its own settings, not the via host's).
 */
function inheritedPart(
  values: Readonly<Record<string, unknown>>,
  dataMeta: DataMetaMap,
  riderMeta: DataMetaMap,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).filter(
      ([key]) =>
        key !== VIA_DATA_KEY && Object.hasOwn(dataMeta, key) && !Object.hasOwn(riderMeta, key),
    ),
  );
}

/**
 * Resolves the hosts that others run through (`ConnectorHost.via`): a via naming an
 * inventory host of the run is that host; anything else is a connection string,
 * resolved through its connector's `makeNamesData`. Its data: its own, then the
 * riding host's values for the keys only its connector declares (so `--data
 * ssh_port=...` reaches an ssh parent), then the via target's data; typed and checked by its
 * connector's `dataMeta`. Identical parents are one object; a loop is refused.
 */
export class ViaResolver {
  readonly #options: ViaResolverOptions;
  readonly #byIdentity = new Map<string, ViaHost>();

  constructor(options: ViaResolverOptions) {
    this.#options = options;
  }

  /**
   * The host `rider` runs through, or undefined for this machine. `riderData` gives
   * the rider's values typed by a dataMeta; `chain` holds the names so far.
   */
  async resolve(
    rider: {
      readonly name: string;
      readonly connector: LoadedConnector;
      readonly hostData: Readonly<Record<string, unknown>>;
    },
    riderData: (dataMeta: DataMetaMap) => Record<string, unknown>,
    chain: readonly string[] = [rider.name],
  ): Promise<ViaHost | undefined> {
    const target = viaTargetOf(rider.connector.connectorClass, rider.hostData);
    if (!target) return undefined;
    const own = this.#options.hosts.get(target.connection);
    const found = own
      ? { connector: own.connector, name: own.name, base: own.dataFor, baseSource: own.source }
      : await this.#fromConnection(target.connection, rider.name);
    const { connector, name, base, baseSource } = found;
    if (chain.includes(name) || chain.length > MAX_VIA_DEPTH) {
      const path = chainText([...chain, name]);
      throw new InventoryError(
        chain.includes(name)
          ? `Host ${JSON.stringify(chain[0])}: its via hosts loop: ${path}. Each host must run through another that does not lead back to it (check the via data of these hosts).`
          : `Host ${JSON.stringify(chain[0])}: its via hosts nest more than ${MAX_VIA_DEPTH} deep: ${path}.`,
      );
    }
    if (!connector.connectorClass.handlesExecution) {
      throw new InventoryError(
        `Host ${JSON.stringify(rider.name)}: via ${JSON.stringify(target.connection)} names an inventory connector (@${connector.info.name}), which runs nothing: name a host that runs commands (e.g. @ssh:web1).`,
      );
    }
    const dataMeta = connector.connectorClass.dataMeta;
    const riderMeta = rider.connector.connectorClass.dataMeta;
    const layers = [
      { data: base(dataMeta), source: baseSource },
      {
        data: inheritedPart(riderData(dataMeta), dataMeta, riderMeta),
        source: `the data of ${JSON.stringify(rider.name)}, which runs via it`,
      },
      {
        data: { ...(target.data ?? {}) },
        source: `what @${rider.connector.info.name} derives from the data of ${JSON.stringify(rider.name)}`,
      },
    ];
    const hostData = hostDataFor(
      mergeDataLayers(layers.map((layer) => layer.data)),
      {},
      dataMeta,
      this.#options.secrets,
    );
    let data: Record<string, unknown>;
    try {
      data = buildConnectorData(connector.info.name, dataMeta, hostData);
    } catch (error) {
      if (!(error instanceof ConnectorDataError)) throw error;
      const dataError = hostDataError(error, name, sourceOfKey(error.key, layers));
      throw new ConnectorDataError(
        error.key,
        `${dataError.message} (${JSON.stringify(name)} is the via host of ${JSON.stringify(chain[0])}.)`,
      );
    }
    const self = { name, connector, hostData };
    const via = await this.resolve(
      self,
      // Up the chain: what this one inherited, and its own values for keys it does not read itself.
      (meta) => ({
        ...inheritedPart(riderData(meta), meta, dataMeta),
        ...inheritedPart(hostData, meta, dataMeta),
      }),
      [...chain, name],
    );
    const identity = identityOf(name, hostData) + (via ? via.identity : '');
    const known = this.#byIdentity.get(identity);
    if (known) return known;
    const resolved: ViaHost = {
      name,
      connector,
      data,
      hostData,
      secretKeys: secretKeysOf(dataMeta),
      dataMeta: { ...(via?.dataMeta ?? {}), ...dataMeta },
      ...(via ? { via } : {}),
      identity,
    };
    this.#byIdentity.set(identity, resolved);
    return resolved;
  }

  /** The one host a via connection string stands for, as its connector's `makeNamesData` yields it. */
  async #fromConnection(connection: string, riderName: string) {
    const parsed = parseConnectionString(connection);
    const connector = await this.#options.load(parsed.connector);
    const yielded = connector.connectorClass.handlesExecution
      ? await collectNamesData(connector.connectorClass, parsed.arg)
      : [];
    const entry = yielded[0];
    if (connector.connectorClass.handlesExecution && (!entry || yielded.length !== 1)) {
      throw new InventoryError(
        `Host ${JSON.stringify(riderName)}: via ${JSON.stringify(connection)} stands for ${yielded.length} hosts, but a host runs through exactly one.`,
      );
    }
    const yieldedData = entry?.[1] ?? {};
    return {
      connector,
      // Named as written (`@ssh:web1`), so the chain reads as the user gave it.
      name: connection,
      base: (): Record<string, unknown> => ({ ...yieldedData }),
      baseSource: `the via connection string ${JSON.stringify(connection)}`,
    };
  }
}

/** The chain a host runs through, nearest first: `["@ssh:web1"]`. */
export function viaChainOf(via: ViaHost | undefined): string[] {
  const out: string[] = [];
  for (let at = via; at; at = at.via) out.push(at.name);
  return out;
}
