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

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `--data-env KEY=VAR`: the value of the controller's environment variable VAR,
 * so a secret (an API token, a password) is never on the command line, where `ps`
 * shows it to every user.
 */
export function dataFromEnvironment(
  key: string,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (!ENV_NAME.test(name)) {
    throw new UsageError(
      `--data-env ${key}=${name}: ${JSON.stringify(name)} is not an environment variable name (expected letters, digits and _).`,
    );
  }
  const value = env[name];
  if (value === undefined || value === '') {
    throw new UsageError(
      `--data-env ${key}=${name}: the environment variable ${name} is not set (export ${name}=... first, or use --data ${key}=VALUE).`,
    );
  }
  return value;
}

export { type DataOverride, dataValueFor } from '@infra/deploy/inventory';
