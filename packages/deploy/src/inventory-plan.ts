import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { InventoryError } from '@infra/core';

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
  /** Where each layer was set, for messages: `inventory.ts, group "app"`. */
  readonly sources?: readonly string[];
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
    sources: [
      `${source}, all`,
      ...host.groups.map((group) => `${source}, group ${JSON.stringify(group)}`),
      `${source}, host ${JSON.stringify(name)}`,
    ],
  }));
}

/** Read an inventory file: TypeScript/JavaScript (default export) through jiti, JSON, or YAML. */
export async function readInventoryFile(file: string): Promise<unknown> {
  const path = resolve(file);
  const ext = extname(path);
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) {
    throw new InventoryError(
      `Inventory file ${file}: ${found ? `${path} is not a file` : `there is no such file (looked for ${path})`}. INVENTORY is an inventory file (.ts, .js, .json, .yaml) or connection strings such as @local or @ssh:web1.`,
    );
  }
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
    const { loadErrorMessage } = await import('./module-loader.js');
    throw new InventoryError(
      `Could not read the inventory file ${file}: ${loadErrorMessage(error)}`,
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
