import { ConnectorResolver, type DataMeta, type InstalledConnector, MASK } from '@infra/core';
import type { OutputOptions } from './args.js';
import { connectorPackageFor } from './connector-packages.js';
import { EXIT, errorCode, errorMessage } from './exit-codes.js';
import { type CliStreams, Reporter } from './reporter.js';
import { SecretRedactor } from './secret-redactor.js';

/** One data key as `infra connectors` shows it; a secret's default is masked. */
export interface DataKeyListing {
  readonly key: string;
  readonly type: string;
  readonly description: string;
  readonly default?: unknown;
  readonly secret: boolean;
  readonly required: boolean;
  readonly values?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
}

export interface ConnectorListing {
  readonly name: string;
  readonly package: string;
  readonly version: string;
  readonly origin: InstalledConnector['origin'];
  /** True: runs commands; false: only generates inventory. Undefined when it could not be loaded. */
  readonly handlesExecution?: boolean;
  readonly description?: string;
  readonly dataKeys: readonly DataKeyListing[];
  /** Why the connector cannot be used (it failed to load or has the wrong specification). */
  readonly error?: { readonly code: string; readonly message: string };
}

export function dataKeyListing(key: string, meta: DataMeta): DataKeyListing {
  return {
    key,
    type: meta.type,
    description: meta.description,
    ...(meta.default === undefined ? {} : { default: meta.secret ? MASK : meta.default }),
    secret: meta.secret === true,
    required: meta.required === true,
    ...(meta.values ? { values: meta.values } : {}),
    ...(meta.minimum === undefined ? {} : { minimum: meta.minimum }),
    ...(meta.maximum === undefined ? {} : { maximum: meta.maximum }),
  };
}

/** The text of `infra connectors` for one connector: a heading line and its data keys. */
export function formatConnectorListing(listing: ConnectorListing): string[] {
  const role =
    listing.handlesExecution === undefined
      ? 'cannot be used'
      : listing.handlesExecution
        ? 'executes commands'
        : 'generates inventory only';
  const lines = [`${listing.name}  ${listing.package}@${listing.version}  (${role})`];
  if (listing.description) lines.push(`  ${listing.description}`);
  if (listing.error) lines.push(`  error: ${listing.error.message}`);
  if (listing.dataKeys.length > 0) {
    lines.push('  data keys:');
    const width = Math.max(...listing.dataKeys.map((k) => k.key.length));
    const typeWidth = Math.max(...listing.dataKeys.map((k) => k.type.length));
    for (const key of listing.dataKeys) {
      const notes: string[] = [];
      if (key.default !== undefined) notes.push(`default ${JSON.stringify(key.default)}`);
      if (key.secret) notes.push('secret');
      if (key.required) notes.push('required');
      if (key.values) notes.push(`one of ${key.values.join(', ')}`);
      if (key.minimum !== undefined || key.maximum !== undefined) {
        notes.push(`${key.minimum ?? ''}..${key.maximum ?? ''}`);
      }
      const suffix = notes.length > 0 ? ` [${notes.join('; ')}]` : '';
      lines.push(
        `    ${key.key.padEnd(width)}  ${key.type.padEnd(typeWidth)}  ${key.description}${suffix}`,
      );
    }
  }
  return lines;
}

async function listingOf(
  resolver: ConnectorResolver,
  info: InstalledConnector,
): Promise<ConnectorListing> {
  const base = {
    name: info.name,
    package: info.packageName,
    version: info.packageVersion,
    origin: info.origin,
  };
  try {
    const { connectorClass } = await resolver.load(info.name);
    return {
      ...base,
      handlesExecution: connectorClass.handlesExecution,
      ...(connectorClass.description ? { description: connectorClass.description } : {}),
      dataKeys: Object.entries(connectorClass.dataMeta).map(([key, meta]) =>
        dataKeyListing(key, meta),
      ),
    };
  } catch (error) {
    return {
      ...base,
      dataKeys: [],
      error: { code: errorCode(error), message: errorMessage(error) },
    };
  }
}

/** `infra connectors`: every installed connector, its package, role and data keys. */
export async function runConnectors(
  options: OutputOptions,
  context: { readonly streams: CliStreams; readonly projectDir: string; readonly cliDir: string },
): Promise<number> {
  const reporter = new Reporter(context.streams, options, new SecretRedactor());
  const resolver = new ConnectorResolver({
    projectDir: context.projectDir,
    fallbackDirs: [context.cliDir],
    packageHint: connectorPackageFor,
  });
  const installed = await resolver.list();
  const listings = await Promise.all(installed.map((info) => listingOf(resolver, info)));
  if (options.json) {
    for (const listing of listings)
      reporter.line(JSON.stringify({ type: 'connector', ...listing }));
    return EXIT.ok;
  }
  if (listings.length === 0) {
    reporter.line(
      `No connector is installed. Install one next to your project, e.g. npm install ${connectorPackageFor('local')}`,
    );
    return EXIT.ok;
  }
  listings.forEach((listing, index) => {
    if (index > 0) reporter.line('');
    for (const line of formatConnectorListing(listing)) reporter.line(line);
  });
  return EXIT.ok;
}
