import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import {
  buildConnectorData,
  collectNamesData,
  type DataMetaMap,
  InventoryError,
  type NamesDataContext,
  parseConnectionString,
} from '@infra/core';
import type { ConnectorResolver, LoadedConnector } from '@infra/core/resolver';
import {
  type DataOverride,
  dataValueFor,
  hostDataFor,
  mergeDataLayers,
  type SecretSink,
  secretKeysOf,
} from './host-data.js';

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
  /** Data keys a connector on the way declares secret: masked wherever host data is shown. */
  readonly secretKeys: readonly string[];
}

const INVENTORY_FILE = /\.(ts|mts|cts|js|mjs|cjs|json|ya?ml)$/;

/** True when INVENTORY names an inventory file rather than connection strings. */
export function isInventoryFile(inventory: string): boolean {
  return !inventory.includes(',') && INVENTORY_FILE.test(inventory) && !inventory.startsWith('@');
}

/** `@ssh:a,@ssh:b` -> the entries; an empty entry is an `InventoryError`. */
export function splitInventory(inventory: string): string[] {
  const entries = inventory.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) {
    throw new InventoryError(
      `Inventory ${JSON.stringify(inventory)} has an empty entry: expected connection strings separated by commas, such as @local or @ssh:web1,@ssh:web2.`,
    );
  }
  return entries;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, where: string, expected: string, got: unknown): InventoryError {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  return new InventoryError(`Inventory ${source}: ${where} should be ${expected}, got ${shown}.`);
}

interface FlatHost {
  readonly name: string;
  readonly connection: string;
  readonly data: Record<string, unknown>;
}

function readHostEntry(entry: unknown, source: string, where: string): FlatHost {
  if (typeof entry === 'string' && entry !== '')
    return { name: entry, connection: entry, data: {} };
  if (Array.isArray(entry) && typeof entry[0] === 'string' && entry.length <= 2) {
    const data = entry[1] ?? {};
    if (!isRecord(data)) throw invalid(source, `${where} data`, 'an object', data);
    return { name: entry[0], connection: entry[0], data };
  }
  if (isRecord(entry) && typeof entry.name === 'string' && entry.name !== '') {
    const data = entry.data ?? {};
    if (!isRecord(data)) throw invalid(source, `${where} data`, 'an object', data);
    const connection = entry.connection ?? entry.name;
    if (typeof connection !== 'string') {
      throw invalid(source, `${where}.connection`, 'a connection string', connection);
    }
    return { name: entry.name, connection, data };
  }
  throw invalid(
    source,
    where,
    'a connection string, [name, data] or { name, connection?, data? }',
    entry,
  );
}

/** One host of an inventory with its data layers, before any connector is loaded. */
export interface PlannedHost {
  readonly name: string;
  readonly connection: string;
  /** Groups in the order the inventory declares them. */
  readonly groups: string[];
  /** `all`, then each group's data in order, then the host's own data. */
  readonly layers: Record<string, unknown>[];
}

/**
 * Check an inventory definition (whatever a file held) and flatten it to hosts with
 * their data layers. A host listed in several groups is one host in all of them.
 */
export function planInventory(definition: unknown, source: string): PlannedHost[] {
  if (!isRecord(definition)) {
    throw invalid(source, 'the inventory', 'an object with hosts, groups and all', definition);
  }
  const known = new Set(['hosts', 'groups', 'all']);
  for (const key of Object.keys(definition)) {
    if (!known.has(key)) {
      throw invalid(source, `key ${JSON.stringify(key)}`, 'one of hosts, groups, all', key);
    }
  }
  const all = definition.all ?? {};
  if (!isRecord(all)) throw invalid(source, 'all', 'an object of data', all);
  const hosts = new Map<
    string,
    {
      connection: string;
      own: Record<string, unknown>;
      groups: string[];
      groupData: Record<string, unknown>[];
    }
  >();
  const addHost = (
    entry: FlatHost,
    group: string | undefined,
    groupData: Record<string, unknown>,
  ) => {
    let host = hosts.get(entry.name);
    if (!host) {
      host = { connection: entry.connection, own: {}, groups: [], groupData: [] };
      hosts.set(entry.name, host);
    } else if (host.connection !== entry.connection) {
      throw new InventoryError(
        `Inventory ${source}: host ${JSON.stringify(entry.name)} is given two connections (${host.connection} and ${entry.connection}): give one.`,
      );
    }
    Object.assign(host.own, entry.data);
    if (group !== undefined && !host.groups.includes(group)) {
      host.groups.push(group);
      host.groupData.push(groupData);
    }
  };
  const ungrouped = definition.hosts ?? [];
  if (!Array.isArray(ungrouped)) throw invalid(source, 'hosts', 'a list of hosts', ungrouped);
  ungrouped.forEach((entry, i) => {
    addHost(readHostEntry(entry, source, `hosts[${i}]`), undefined, {});
  });
  const groups = definition.groups ?? {};
  if (!isRecord(groups)) throw invalid(source, 'groups', 'an object of groups', groups);
  for (const [groupName, group] of Object.entries(groups)) {
    const list = Array.isArray(group) ? group : isRecord(group) ? group.hosts : undefined;
    const data = Array.isArray(group) ? {} : isRecord(group) ? (group.data ?? {}) : undefined;
    if (!Array.isArray(list)) {
      throw invalid(source, `groups.${groupName}`, 'a list of hosts or { hosts, data }', group);
    }
    if (!isRecord(data)) throw invalid(source, `groups.${groupName}.data`, 'an object', data);
    list.forEach((entry, i) => {
      addHost(readHostEntry(entry, source, `groups.${groupName}.hosts[${i}]`), groupName, data);
    });
  }
  return [...hosts].map(([name, host]) => ({
    name,
    connection: host.connection,
    groups: host.groups,
    layers: [all, ...host.groupData, host.own],
  }));
}

/** Read an inventory file: TypeScript/JavaScript (default export) through jiti, JSON, or YAML. */
export async function readInventoryFile(file: string): Promise<unknown> {
  const path = resolve(file);
  const ext = extname(path);
  let text: string;
  try {
    if (ext === '.json' || ext === '.yaml' || ext === '.yml') text = await readFile(path, 'utf8');
    else {
      const { importUserModule } = await import('./module-loader.js');
      const module = await importUserModule(path);
      const value = module.default ?? module.inventory;
      return typeof value === 'function' ? await (value as () => unknown)() : value;
    }
  } catch (error) {
    throw new InventoryError(
      `Could not read the inventory file ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    if (ext === '.json') return JSON.parse(text) as unknown;
    const { parse } = await import('yaml');
    return parse(text) as unknown;
  } catch (error) {
    throw new InventoryError(
      `Inventory file ${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** INVENTORY as typed on the command line: an inventory file, or connection strings. */
export async function planInventorySource(inventory: string): Promise<PlannedHost[]> {
  if (isInventoryFile(inventory)) {
    return planInventory(await readInventoryFile(inventory), inventory);
  }
  return splitInventory(inventory).map((entry) => ({
    name: entry,
    connection: entry,
    groups: [],
    layers: [],
  }));
}

/** One executing target reached from an inventory entry, with what the chain yielded. */
interface ResolvedTarget {
  readonly name: string;
  readonly connector: LoadedConnector;
  /** Yielded data, deepest first: an executing connector's own, then each inventory connector's. */
  readonly layers: readonly Record<string, unknown>[];
  /** Every connector's data keys along the chain, so secrets anywhere on it are masked. */
  readonly dataMeta: DataMetaMap;
  readonly groups: readonly string[];
  /** The inventory connection strings on the way, outermost first. */
  readonly via: readonly string[];
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
        dataMeta: { ...source.connectorClass.dataMeta, ...reached.dataMeta },
        groups: [...groups, ...reached.groups],
        via: [key, ...reached.via],
      });
    }
  }
  return out;
}

/**
 * Turn planned hosts into hosts of the run: parse each connection string, load
 * its connector, collect `makeNamesData` (following inventory connectors), merge
 * the data layers (all < groups < what the connectors yielded < host < `--data`)
 * and build every host's connector data up front.
 */
export async function resolveHosts(
  planned: readonly PlannedHost[],
  overrides: Readonly<Record<string, DataOverride>>,
  resolver: ConnectorResolver,
  secrets: SecretSink,
): Promise<InventoryHost[]> {
  const loading = new Map<string, Promise<LoadedConnector>>();
  const load = (name: string): Promise<LoadedConnector> => {
    let promise = loading.get(name);
    if (!promise) {
      promise = resolver.load(name);
      loading.set(name, promise);
    }
    return promise;
  };

  const hosts: InventoryHost[] = [];
  const seen = new Set<string>();
  for (const entry of planned) {
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
    for (const target of targets) {
      const name = aliased ? entry.name : target.name;
      if (seen.has(name)) {
        throw new InventoryError(
          `Host ${JSON.stringify(name)} appears twice in the inventory: give each host once.`,
        );
      }
      seen.add(name);
      const own = entry.layers.at(-1) ?? {};
      const merged = mergeDataLayers([...entry.layers.slice(0, -1), ...target.layers, own]);
      const hostData = hostDataFor(merged, overrides, target.dataMeta, secrets);
      const { connector } = target;
      const data = buildConnectorData(
        connector.info.name,
        connector.connectorClass.dataMeta,
        hostData,
      );
      const groups = [...entry.groups];
      for (const group of target.groups) if (!groups.includes(group)) groups.push(group);
      hosts.push({
        name,
        connector,
        data,
        hostData,
        groups,
        via: target.via,
        secretKeys: secretKeysOf(target.dataMeta),
      });
    }
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
): Promise<InventoryHost[]> {
  return resolveHosts(await planInventorySource(inventory), overrides, resolver, secrets);
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * `--limit`: the hosts in a named group or whose name matches a glob (`web*`);
 * several limits are a union. A limit that matches nothing is an error.
 */
export function limitHosts<T extends { name: string; groups: readonly string[] }>(
  hosts: readonly T[],
  limits: readonly string[],
): T[] {
  if (limits.length === 0) return [...hosts];
  const keep = new Set<T>();
  for (const limit of limits) {
    const pattern = globToRegExp(limit);
    const matched = hosts.filter((host) => host.groups.includes(limit) || pattern.test(host.name));
    if (matched.length === 0) {
      throw new InventoryError(
        `--limit ${JSON.stringify(limit)} matches no group and no host name: the groups are ${[...new Set(hosts.flatMap((h) => h.groups))].join(', ') || '(none)'}, the hosts ${hosts.map((h) => h.name).join(', ')}.`,
      );
    }
    for (const host of matched) keep.add(host);
  }
  return hosts.filter((host) => keep.has(host));
}

export {
  type DataOverride,
  dataValueFor,
  hostDataFor,
  maskedData,
  type SecretSink,
} from './host-data.js';
