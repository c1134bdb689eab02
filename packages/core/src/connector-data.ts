import { MaskString } from './command.js';
import { ConnectorDataError } from './errors.js';

export type DataType = 'string' | 'integer' | 'number' | 'boolean' | 'string[]' | 'object';

/** What a connector says about one of its host data keys (pyinfra's DataMeta). */
export interface DataMeta {
  readonly description: string;
  readonly type: DataType;
  readonly default?: unknown;
  /** A secret: masked in every output, handed to the connector as a `MaskString`. */
  readonly secret?: boolean;
  /** The only values allowed (for strings). */
  readonly values?: readonly string[];
  /** The smallest value allowed (for numbers). */
  readonly minimum?: number;
  /** The largest value allowed (for numbers). */
  readonly maximum?: number;
  readonly required?: boolean;
}

export type DataMetaMap = Readonly<Record<string, DataMeta>>;

type TypeOf<M extends DataMeta> = M['secret'] extends true
  ? MaskString
  : M['values'] extends readonly (infer V)[]
    ? V
    : M['type'] extends 'string'
      ? string
      : M['type'] extends 'integer' | 'number'
        ? number
        : M['type'] extends 'boolean'
          ? boolean
          : M['type'] extends 'string[]'
            ? string[]
            : Record<string, unknown>;

type HasValue<M extends DataMeta> = M extends { default: unknown }
  ? true
  : M extends { required: true }
    ? true
    : false;

/** The typed data object a connector gets: one property per `dataMeta` key. */
export type ConnectorData<M extends DataMetaMap> = {
  readonly [K in keyof M]: HasValue<M[K]> extends true ? TypeOf<M[K]> : TypeOf<M[K]> | undefined;
};

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'number (not an integer)';
  return typeof value;
}

function matches(type: DataType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

/**
 * Build a connector's typed data from a host's data and the connector's
 * `dataMeta` defaults, checking every key up front. Secrets come back as
 * `MaskString`. Throws `ConnectorDataError` naming the key, the value's type and
 * the expected type.
 */
export function buildConnectorData<M extends DataMetaMap>(
  connectorName: string,
  dataMeta: M,
  hostData: Readonly<Record<string, unknown>>,
): ConnectorData<M> {
  const data: Record<string, unknown> = {};
  for (const [key, meta] of Object.entries(dataMeta)) {
    let value = hostData[key];
    if (MaskString.is(value)) value = value.getRawValue();
    if (value === undefined || value === null) {
      if (meta.required && meta.default === undefined) {
        throw new ConnectorDataError(
          key,
          `The ${connectorName} connector needs host data ${key} (${meta.type}): ${meta.description}.`,
        );
      }
      value = meta.default;
    } else if (!matches(meta.type, value)) {
      const shown = meta.secret ? '' : ` ${JSON.stringify(value)}`;
      throw new ConnectorDataError(
        key,
        `Host data ${key} is ${describeType(value)}${shown}, expected ${meta.type === 'string[]' ? 'a list of strings' : `${meta.type === 'integer' ? 'an' : 'a'} ${meta.type}`} (${meta.description}).`,
      );
    } else if (
      typeof value === 'number' &&
      ((meta.minimum !== undefined && value < meta.minimum) ||
        (meta.maximum !== undefined && value > meta.maximum))
    ) {
      const shown = meta.secret ? 'out of range' : String(value);
      const range =
        meta.maximum === undefined
          ? `at least ${meta.minimum}`
          : meta.minimum === undefined
            ? `at most ${meta.maximum}`
            : `from ${meta.minimum} to ${meta.maximum}`;
      throw new ConnectorDataError(
        key,
        `Host data ${key} is ${shown}, expected ${range} (${meta.description}).`,
      );
    } else if (meta.values && !meta.values.includes(value as string)) {
      throw new ConnectorDataError(
        key,
        `Host data ${key} is ${JSON.stringify(value)}, expected one of ${meta.values.map((v) => JSON.stringify(v)).join(', ')}.`,
      );
    }
    data[key] = meta.secret && typeof value === 'string' ? new MaskString(value) : value;
  }
  return data as ConnectorData<M>;
}

/** A copy of host data with every secret key (and any `MaskString`) shown as `***`. */
export function maskHostData(
  hostData: Readonly<Record<string, unknown>>,
  secretKeys: Iterable<string>,
): Record<string, unknown> {
  const secrets = new Set(secretKeys);
  const masked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hostData)) {
    masked[key] =
      MaskString.is(value) || (secrets.has(key) && value !== undefined && value !== null)
        ? '***'
        : value;
  }
  return masked;
}
