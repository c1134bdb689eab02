import {
  buildConnectorData,
  ConnectorDataError,
  collectNamesData,
  type DataMetaMap,
  InventoryError,
  type NamesDataContext,
  parseConnectionString,
} from '@infra/core';
import type { ConnectorResolver, LoadedConnector } from '@infra/core/resolver';
import { bareNameHint, withConnectorSuggestion } from './connector-hints.js';
import {
  DATA_FLAG_SOURCE,
  findUnknownDataKeys,
  hostDataError,
  sourceOfKey,
  suggestionText,
} from './data-key-check.js';
import {
  type DataOverride,
  dataValueFor,
  hostDataFor,
  mergeDataLayers,
  type SecretSink,
  secretKeysOf,
} from './host-data.js';
import { type PlannedHost, planInventorySource } from './inventory-plan.js';
import { type ViaCandidate, type ViaHost, ViaResolver, viaChainOf } from './via-hosts.js';

/** One host in an inventory file: a connection string, `[name, data]`, or an object. */
export type InventoryHostEntry =
  | string
  | readonly [name: string, data: Record<string, unknown>]
  | {
      /** The host's name in output and `--limit`. */
      readonly name: string;
      /** The connection string to reach it; the name when not given (`@local`, `@ssh:web1`, `web1`). */
      readonly connection?: string;
      readonly data?: Record<string, unknown>;
    };

export interface InventoryGroup {
  readonly hosts: readonly InventoryHostEntry[];
  readonly data?: Record<string, unknown>;
}

/**
 * What an inventory file (`inventory.ts`, `.js`, `.json`, `.yaml`) holds. A group
 * may be a list of hosts or `{ hosts, data }`.
 */
export interface InventoryDefinition {
  /** Hosts that belong to no group. */
  readonly hosts?: readonly InventoryHostEntry[];
  readonly groups?: Readonly<Record<string, InventoryGroup | readonly InventoryHostEntry[]>>;
  /** Data every host gets (pyinfra's `group_data/all.py`). */
  readonly all?: Record<string, unknown>;
}

/** Typed helper for `inventory.ts`: `export default inventory({ ... })`. */
export function inventory(definition: InventoryDefinition): InventoryDefinition {
  return definition;
}

/** One host of the run, its connector loaded and its data checked. */
export interface InventoryHost {
  readonly name: string;
  readonly connector: LoadedConnector;
  /** The connector's typed data (`buildConnectorData`); secrets are `MaskString`. */
  readonly data: Record<string, unknown>;
  /** All of the host's data, merged (all < groups < host < --data); secret keys hold `MaskString`. */
  readonly hostData: Record<string, unknown>;
  readonly groups: readonly string[];
  /** The inventory connectors the host came through, outermost first (`@ssh-config:web*`). */
  readonly via: readonly string[];
  /** The executing host it runs through (`via=@ssh:web1`), and that one's in turn. */
  readonly runsVia?: ViaHost;
  /** Data keys a connector on the way declares secret: masked wherever host data is shown. */
  readonly secretKeys: readonly string[];
}

/** One executing target reached from an inventory entry, with what the chain yielded. */
interface ResolvedTarget {
  readonly name: string;
  readonly connector: LoadedConnector;
  /** Yielded data, deepest first: an executing connector's own, then each inventory connector's. */
  readonly layers: readonly Record<string, unknown>[];
  /** Where each of `layers` came from: the connection string that yielded it. */
  readonly sources: readonly string[];
  /** Every connector's data keys along the chain, so secrets anywhere on it are masked. */
  readonly dataMeta: DataMetaMap;
  readonly groups: readonly string[];
  /** The inventory connection strings on the way, outermost first. */
  readonly via: readonly string[];
}

/** A host of the inventory before its via host is resolved and its data typed. */
interface PendingHost {
  readonly name: string;
  /** The connection string of its inventory entry. */
  readonly connection: string;
  readonly target: ResolvedTarget;
  readonly layers: readonly { readonly data: Record<string, unknown>; readonly source: string }[];
  readonly inventoryLayers: readonly {
    readonly data: Record<string, unknown>;
    readonly source: string;
  }[];
  readonly groups: readonly string[];
  readonly merged: Record<string, unknown>;
}

/** How many inventory connectors may hand a host on before the chain is refused. */
const MAX_INVENTORY_DEPTH = 8;

/**
 * Follow a connection string to the hosts that run commands. An inventory connector
 * (`handlesExecution` false) yields names that are connection strings themselves,
 * resolved the same way; its data sits over what the next connector yields (the
 * inventory's own data wins) and its groups are added. A chain that comes back to a
 * connection string already on it is refused.
 */
async function resolveTargets(
  connection: string,
  load: (name: string) => Promise<LoadedConnector>,
  chain: readonly string[],
  dataSoFar: (outer: readonly Record<string, unknown>[], dataMeta: DataMetaMap) => NamesDataContext,
  outer: readonly Record<string, unknown>[] = [],
): Promise<ResolvedTarget[]> {
  const target = parseConnectionString(connection);
  const key = `@${target.connector}${target.arg === undefined ? '' : `:${target.arg}`}`;
  if (chain.includes(key) || chain.length > MAX_INVENTORY_DEPTH) {
    const path = [...chain, key].map((link) => JSON.stringify(link)).join(' -> ');
    throw new InventoryError(
      chain.includes(key)
        ? `Inventory connectors loop: ${path}. An inventory connector must yield hosts of connectors that run commands (or other inventory connectors), never a connection string that leads back to itself.`
        : `Inventory connectors nest more than ${MAX_INVENTORY_DEPTH} deep: ${path}. Let one of them yield the hosts directly.`,
    );
  }
  const source = await load(target.connector);
  const yielded = await collectNamesData(
    source.connectorClass,
    target.arg,
    dataSoFar(outer, source.connectorClass.dataMeta),
  );
  if (source.connectorClass.handlesExecution) {
    return yielded.map(([name, data, groups]) => ({
      name,
      connector: source,
      layers: [data],
      sources: [`connection string ${JSON.stringify(connection)}`],
      dataMeta: source.connectorClass.dataMeta,
      groups,
      via: [],
    }));
  }
  const out: ResolvedTarget[] = [];
  for (const [name, data, groups] of yielded) {
    // What this one yields sits under what the outer ones yielded (the outer one wins).
    const reachedAll = await resolveTargets(name, load, [...chain, key], dataSoFar, [
      data,
      ...outer,
    ]);
    for (const reached of reachedAll) {
      out.push({
        ...reached,
        // A yielded name behind which one executing host stands names that host.
        name: reachedAll.length === 1 && reached.via.length === 0 ? name : reached.name,
        layers: [...reached.layers, data],
        sources: [...reached.sources, `what ${key} yielded`],
        dataMeta: { ...source.connectorClass.dataMeta, ...reached.dataMeta },
        groups: [...groups, ...reached.groups],
        via: [key, ...reached.via],
      });
    }
  }
  return out;
}

/** What loading an inventory may say that is not an error (`--data` keys no connector reads, ...). */
export interface InventoryLoadOptions {
  readonly warn?: (message: string) => void;
}

/**
 * Turn planned hosts into hosts of the run: parse each connection string, load
 * its connector, collect `makeNamesData` (following inventory connectors), merge
 * the data layers (all < groups < what the connectors yielded < host < `--data`)
 * and build every host's connector data up front. A key in the inventory that
 * starts like a connector's keys (`ssh_prot`) but is none of them is an error; in
 * `--data`, a warning.
 */
export async function resolveHosts(
  planned: readonly PlannedHost[],
  overrides: Readonly<Record<string, DataOverride>>,
  resolver: ConnectorResolver,
  secrets: SecretSink,
  options: InventoryLoadOptions = {},
): Promise<InventoryHost[]> {
  const loading = new Map<string, Promise<LoadedConnector>>();
  const load = (name: string): Promise<LoadedConnector> => {
    let promise = loading.get(name);
    if (!promise) {
      promise = resolver.load(name).catch(async (error: unknown) => {
        throw await withConnectorSuggestion(error, name, resolver);
      });
      loading.set(name, promise);
    }
    return promise;
  };
  const overrideLayer = {
    data: Object.fromEntries(Object.keys(overrides).map((key) => [key, true])),
    source: DATA_FLAG_SOURCE,
  };
  const flagWarnings = new Map<string, { text: string; hosts: string[] }>();

  const pending: PendingHost[] = [];
  const seen = new Set<string>();
  for (const entry of planned) {
    if (options.warn) {
      const hint = await bareNameHint(entry.connection, resolver);
      if (hint) options.warn(hint);
    }
    // The data an inventory connector is given: as the host would get it, so far.
    const dataSoFar = (
      outer: readonly Record<string, unknown>[],
      dataMeta: DataMetaMap,
    ): NamesDataContext => {
      const merged = mergeDataLayers([
        ...entry.layers.slice(0, -1),
        ...outer,
        entry.layers.at(-1) ?? {},
      ]);
      for (const [key, override] of Object.entries(overrides)) {
        merged[key] = dataValueFor(override, dataMeta[key]?.type);
      }
      return { data: merged };
    };
    const targets = await resolveTargets(entry.connection, load, [], dataSoFar);
    const aliased = entry.name !== entry.connection && targets.length === 1;
    const inventoryLayers = entry.layers.map((data, i) => ({
      data,
      source: entry.sources?.[i] ?? `the inventory entry ${JSON.stringify(entry.name)}`,
    }));
    for (const target of targets) {
      const name = aliased ? entry.name : target.name;
      if (seen.has(name)) {
        throw new InventoryError(
          `Host ${JSON.stringify(name)} appears twice in the inventory: give each host once.`,
        );
      }
      seen.add(name);
      const layers = [
        ...inventoryLayers.slice(0, -1),
        ...target.layers.map((data, i) => ({ data, source: target.sources[i] ?? 'a connector' })),
        ...inventoryLayers.slice(-1),
      ];
      const groups = [...entry.groups];
      for (const group of target.groups) if (!groups.includes(group)) groups.push(group);
      const merged = mergeDataLayers(layers.map((layer) => layer.data));
      pending.push({
        name,
        connection: entry.connection,
        target,
        layers,
        inventoryLayers,
        groups,
        merged,
      });
    }
  }

  // A via names a host of the run by its name, or by the connection string of its entry.
  const candidates = new Map<string, ViaCandidate>();
  const perConnection = new Map<string, number>();
  for (const host of pending) {
    perConnection.set(host.connection, (perConnection.get(host.connection) ?? 0) + 1);
  }
  for (const host of pending) {
    const candidate: ViaCandidate = {
      name: host.name,
      connector: host.target.connector,
      source: `the inventory entry ${JSON.stringify(host.name)}`,
      dataFor: (dataMeta) => hostDataFor(host.merged, overrides, dataMeta, secrets),
    };
    candidates.set(host.name, candidate);
    if (perConnection.get(host.connection) === 1 && !candidates.has(host.connection)) {
      candidates.set(host.connection, candidate);
    }
  }
  const vias = new ViaResolver({ hosts: candidates, load, secrets });
  const hosts: InventoryHost[] = [];
  for (const { name, target, layers, inventoryLayers, groups, merged } of pending) {
    const { connector } = target;
    const ownData = hostDataFor(merged, overrides, target.dataMeta, secrets);
    let data: Record<string, unknown>;
    try {
      data = buildConnectorData(connector.info.name, connector.connectorClass.dataMeta, ownData);
    } catch (error) {
      if (!(error instanceof ConnectorDataError)) throw error;
      throw hostDataError(error, name, sourceOfKey(error.key, [...layers, overrideLayer]));
    }
    const via = await vias.resolve({ name, connector, hostData: ownData }, (dataMeta) =>
      hostDataFor(merged, overrides, dataMeta, secrets),
    );
    // The keys of the hosts it runs through are read too (`--data ssh_port=...` reaches the ssh parent).
    const dataMeta = via ? { ...via.dataMeta, ...target.dataMeta } : target.dataMeta;
    const readers = [...target.via, `@${connector.info.name}`, ...viaChainOf(via)].join(', ');
    for (const unknown of findUnknownDataKeys([...inventoryLayers, overrideLayer], dataMeta)) {
      const text = `${suggestionText(unknown)} No connector of the host (${readers}) reads ${unknown.key}, so it would be ignored.`;
      if (unknown.source !== DATA_FLAG_SOURCE) {
        throw new InventoryError(
          `Host ${JSON.stringify(name)}: unknown data key ${unknown.key} (set in ${unknown.source}): ${text}`,
        );
      }
      const warning = flagWarnings.get(unknown.key) ?? { text, hosts: [] };
      warning.hosts.push(name);
      flagWarnings.set(unknown.key, warning);
    }
    hosts.push({
      name,
      connector,
      data,
      hostData: via ? hostDataFor(merged, overrides, dataMeta, secrets) : ownData,
      groups,
      via: target.via,
      ...(via ? { runsVia: via } : {}),
      secretKeys: secretKeysOf(dataMeta),
    });
  }
  for (const [key, warning] of flagWarnings) {
    options.warn?.(
      `--data ${key} on ${warning.hosts.map((host) => JSON.stringify(host)).join(', ')}: ${warning.text}`,
    );
  }
  return hosts;
}

/**
 * The CLI's INVENTORY, whole: connection strings separated by commas, or an
 * inventory file, resolved into hosts with their data.
 */
export async function loadInventory(
  inventory: string,
  overrides: Readonly<Record<string, DataOverride>>,
  resolver: ConnectorResolver,
  secrets: SecretSink,
  options: InventoryLoadOptions = {},
): Promise<InventoryHost[]> {
  return resolveHosts(await planInventorySource(inventory), overrides, resolver, secrets, options);
}

export { type ConnectorServices, createHostConnectors } from './host-connectors.js';
export {
  type DataOverride,
  dataValueFor,
  hostDataFor,
  maskedData,
  type SecretSink,
} from './host-data.js';
export {
  isInventoryFile,
  type PlannedHost,
  planInventory,
  planInventorySource,
  readInventoryFile,
  splitInventory,
} from './inventory-plan.js';
export { limitHosts } from './limit-hosts.js';
export { type ViaHost, viaChainOf } from './via-hosts.js';
