import {
  buildConnectorData,
  type ConnectionString,
  collectNamesData,
  type DataMetaMap,
  InventoryError,
  MaskString,
  parseConnectionString,
} from '@infra/core';
import type { ConnectorResolver, LoadedConnector } from '@infra/core/resolver';
import { type DataOverride, dataValueFor } from './data-value.js';
import type { SecretRedactor } from './secret-redactor.js';

/** One host of the run, its connector loaded and its data checked. */
export interface InventoryHost {
  readonly name: string;
  readonly connector: LoadedConnector;
  /** The connector's typed data (`buildConnectorData`); secrets are `MaskString`. */
  readonly data: Record<string, unknown>;
  /** All of the host's data; secret keys hold `MaskString`. */
  readonly hostData: Record<string, unknown>;
  readonly groups: readonly string[];
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

/**
 * The host data for one host: what the connector yielded, then the `--data`
 * overrides (typed by the connector's `dataMeta`), secret keys wrapped in
 * `MaskString` and registered with the redactor.
 */
export function hostDataFor(
  yielded: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, DataOverride>>,
  dataMeta: DataMetaMap,
  redactor: SecretRedactor,
): Record<string, unknown> {
  const hostData: Record<string, unknown> = { ...yielded };
  for (const [key, override] of Object.entries(overrides)) {
    hostData[key] = dataValueFor(override, dataMeta[key]?.type);
  }
  for (const [key, value] of Object.entries(hostData)) {
    if (value instanceof MaskString) {
      redactor.add(value.getRawValue());
    } else if (dataMeta[key]?.secret && typeof value === 'string') {
      redactor.add(value);
      hostData[key] = new MaskString(value);
    }
  }
  return hostData;
}

async function executingConnectorFor(
  target: ConnectionString,
  load: (name: string) => Promise<LoadedConnector>,
  entry: string,
): Promise<LoadedConnector> {
  const loaded = await load(target.connector);
  if (!loaded.connectorClass.handlesExecution) {
    throw new InventoryError(
      `Inventory entry ${JSON.stringify(entry)}: the ${target.connector} connector only generates inventory and its host names do not name a connector that runs commands.`,
    );
  }
  return loaded;
}

/**
 * Turn the CLI's INVENTORY into hosts: parse each connection string, load its
 * connector, collect `makeNamesData`, and build every host's connector data up
 * front. A connector that only generates inventory (`handlesExecution` false)
 * yields names that are connection strings themselves (a bare name is ssh), as in
 * pyinfra.
 */
export async function loadInventory(
  inventory: string,
  overrides: Readonly<Record<string, DataOverride>>,
  resolver: ConnectorResolver,
  redactor: SecretRedactor,
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
  for (const entry of splitInventory(inventory)) {
    const target = parseConnectionString(entry);
    const source = await load(target.connector);
    for (const [name, yielded, groups] of await collectNamesData(
      source.connectorClass,
      target.arg,
    )) {
      const connector = source.connectorClass.handlesExecution
        ? source
        : await executingConnectorFor(parseConnectionString(name), load, entry);
      if (seen.has(name)) {
        throw new InventoryError(
          `Host ${JSON.stringify(name)} appears twice in the inventory ${JSON.stringify(inventory)}: give each host once.`,
        );
      }
      seen.add(name);
      const dataMeta: DataMetaMap = {
        ...source.connectorClass.dataMeta,
        ...connector.connectorClass.dataMeta,
      };
      const hostData = hostDataFor(yielded, overrides, dataMeta, redactor);
      const data = buildConnectorData(
        connector.info.name,
        connector.connectorClass.dataMeta,
        hostData,
      );
      hosts.push({ name, connector, data, hostData, groups });
    }
  }
  return hosts;
}
