import { ConnectorDataError, type DataMetaMap } from '@infra/core';
import { closestName } from './closest-name.js';

/** Where a host's data key was set: `inventory.ts, group "app"`, `--data`, ... */
export type DataSource = string;

/** The source `--data` overrides are reported under. */
export const DATA_FLAG_SOURCE: DataSource = '--data';

/** The prefixes of a connector's data keys (`ssh_`, `su_`, `docker_`, `api_`), from its dataMeta. */
export function keyPrefixes(dataMeta: DataMetaMap): Set<string> {
  const prefixes = new Set<string>();
  for (const key of Object.keys(dataMeta)) {
    const at = key.indexOf('_');
    if (at > 0) prefixes.add(key.slice(0, at + 1));
  }
  return prefixes;
}

/** A data key that looks meant for a connector of the host (its prefix) but is none of its keys. */
export interface UnknownDataKey {
  readonly key: string;
  readonly source: DataSource;
  /** The nearest key the connectors read, if one is close. */
  readonly suggestion: string | undefined;
  /** The keys with the same prefix, for the message when nothing is close. */
  readonly sameFamily: readonly string[];
}

/**
 * The keys of `layers` (each with its source, highest precedence last) that start
 * with a prefix of `dataMeta`'s keys but are not one of them: a misspelled
 * `ssh_prot` would otherwise be kept as plain host data and silently ignored.
 * Each key is reported once, under the source that wins.
 */
export function findUnknownDataKeys(
  layers: readonly {
    readonly data: Readonly<Record<string, unknown>>;
    readonly source: DataSource;
  }[],
  dataMeta: DataMetaMap,
): UnknownDataKey[] {
  const prefixes = keyPrefixes(dataMeta);
  if (prefixes.size === 0) return [];
  const known = Object.keys(dataMeta);
  const found = new Map<string, UnknownDataKey>();
  for (const { data, source } of layers) {
    for (const key of Object.keys(data)) {
      if (Object.hasOwn(dataMeta, key)) continue;
      const at = key.indexOf('_');
      const prefix = at > 0 ? key.slice(0, at + 1) : '';
      if (!prefixes.has(prefix)) continue;
      const family = known.filter((candidate) => candidate.startsWith(prefix));
      found.set(key, {
        key,
        source,
        suggestion: closestName(key, known, Math.max(2, Math.floor(key.length / 3))),
        sameFamily: family,
      });
    }
  }
  return [...found.values()];
}

/** "did you mean ssh_port?", or the keys of the same family when none is close. */
export function suggestionText(unknown: UnknownDataKey): string {
  if (unknown.suggestion) return `did you mean ${unknown.suggestion}?`;
  return `the keys that start with ${unknown.key.slice(0, unknown.key.indexOf('_') + 1)} are ${unknown.sameFamily.join(', ')}`;
}

/** The source that set `key` last: `--data` when it was overridden, else the highest layer holding it. */
export function sourceOfKey(
  key: string,
  layers: readonly {
    readonly data: Readonly<Record<string, unknown>>;
    readonly source: DataSource;
  }[],
): DataSource | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer && Object.hasOwn(layer.data, key)) return layer.source;
  }
  return undefined;
}

/** A connector data error that also says which host it is and where the key was set. */
export function hostDataError(
  error: ConnectorDataError,
  host: string,
  source: DataSource | undefined,
): ConnectorDataError {
  const where = source === undefined ? '' : ` It is set in ${source}.`;
  const message = error.message.replace(/^Host data /, 'data ');
  return new ConnectorDataError(error.key, `Host ${JSON.stringify(host)}: ${message}${where}`);
}
