import { UsageError } from './usage-error.js';

const INTEGER = /^-?\d+$/;

/**
 * Read a `--data` value the way pyinfra reads `--data`: `true`/`false` (any case)
 * are booleans, whole numbers are integers, valid JSON is JSON, anything else is
 * the string as typed.
 */
export function parseDataValue(text: string): unknown {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (INTEGER.test(text)) {
    const value = Number(text);
    if (Number.isSafeInteger(value)) return value;
  }
  const first = text.trimStart()[0];
  if (
    first === '{' ||
    first === '[' ||
    first === '"' ||
    /^-?[0-9.]/.test(text) ||
    text === 'null'
  ) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not JSON after all: keep the string
    }
  }
  return text;
}

/** Split `KEY=VALUE` (the value may hold `=`); `flag` names the option in the error. */
export function splitKeyValue(flag: string, text: string): [key: string, value: string] {
  const at = text.indexOf('=');
  if (at <= 0) {
    throw new UsageError(
      `${flag} expects KEY=VALUE, got ${JSON.stringify(text)}${at === 0 ? ' (the key is empty)' : ''}.`,
    );
  }
  return [text.slice(0, at), text.slice(at + 1)];
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
