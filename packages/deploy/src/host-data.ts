import { type DataMetaMap, MaskString, maskHostData } from '@infra/core';

/** Where a run's secrets are registered, so that every printed line can be scrubbed of them. */
export interface SecretSink {
  add(secret: string): void;
}

/** One `--data KEY=VALUE`: the text as typed and its parsed value. */
export interface DataOverride {
  readonly text: string;
  readonly value: unknown;
}

/**
 * The value a connector gets for a `--data` override: the parsed value, except that
 * a key the connector declares as a string keeps the text as typed (`--data
 * ssh_password=1234` stays the string "1234").
 */
export function dataValueFor(override: DataOverride, declaredType: string | undefined): unknown {
  if (declaredType === 'string' && typeof override.value !== 'string') return override.text;
  return override.value;
}

/**
 * The host data for one host: what the inventory gave, then the `--data`
 * overrides (typed by the connector's `dataMeta`), secret keys wrapped in
 * `MaskString` and registered with the secret sink.
 */
export function hostDataFor(
  yielded: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, DataOverride>>,
  dataMeta: DataMetaMap,
  secrets: SecretSink,
): Record<string, unknown> {
  const hostData: Record<string, unknown> = { ...yielded };
  for (const [key, override] of Object.entries(overrides)) {
    hostData[key] = dataValueFor(override, dataMeta[key]?.type);
  }
  for (const [key, value] of Object.entries(hostData)) {
    if (MaskString.is(value)) {
      secrets.add(value.getRawValue());
    } else if (dataMeta[key]?.secret && typeof value === 'string') {
      secrets.add(value);
      hostData[key] = new MaskString(value);
    } else if (dataMeta[key]?.secret && (typeof value === 'number' || typeof value === 'bigint')) {
      // A numeric secret (a PIN) keeps its type for the connector; output is scrubbed of it.
      secrets.add(String(value));
    }
  }
  return hostData;
}

/**
 * Host data in pyinfra's order of precedence, lowest first: the deploy's defaults,
 * `all`, each group (a later group wins), the host's own data. `--data` overrides
 * are applied on top by `hostDataFor`.
 */
export function mergeDataLayers(
  layers: readonly Readonly<Record<string, unknown>>[],
): Record<string, unknown> {
  return Object.assign({}, ...layers) as Record<string, unknown>;
}

const SECRET_KEY = /(password|passphrase|secret|token|private_key)$/i;

/**
 * Host data for printing: `MaskString` values, the keys a connector declares
 * secret, and keys that name a secret (`*_password`, `*_secret`, `*_token`, ...)
 * are shown as `***`.
 */
export function maskedData(
  data: Readonly<Record<string, unknown>>,
  secretKeys: Iterable<string> = [],
): Record<string, unknown> {
  const named = Object.keys(data).filter((key) => SECRET_KEY.test(key));
  const masked = maskHostData(data, [...secretKeys, ...named]);
  return JSON.parse(JSON.stringify(masked)) as Record<string, unknown>;
}

/** The keys a connector's `dataMeta` marks secret. */
export function secretKeysOf(dataMeta: DataMetaMap): string[] {
  return Object.entries(dataMeta)
    .filter(([, meta]) => meta.secret)
    .map(([key]) => key);
}
