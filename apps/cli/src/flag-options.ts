import type { DeployOptions, ExecOptions, OutputOptions } from './cli-command.js';
import {
  type DataOverride,
  dataFromEnvironment,
  parseDataValue,
  splitKeyValue,
} from './data-value.js';
import { FLAGS, type RawFlags, single } from './flags.js';
import { UsageError } from './usage-error.js';

const PERCENT = /^(100|[1-9]?\d)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATA_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const POSITIVE_INTEGER = /^[1-9]\d*$/;

/** -v, --debug, --json: what every command takes. */
export function outputOptions(flags: RawFlags): OutputOptions {
  return {
    verbosity: flags.verbosity,
    debug: flags.seen.has('debug'),
    json: flags.seen.has('json'),
  };
}

function envOption(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const text of values) {
    const [key, value] = splitKeyValue('--env', text);
    if (!ENV_NAME.test(key)) {
      throw new UsageError(
        `--env ${JSON.stringify(text)}: ${JSON.stringify(key)} is not an environment variable name (expected letters, digits and _, not starting with a digit).`,
      );
    }
    env[key] = value;
  }
  return env;
}

function dataOption(
  values: readonly string[],
  fromEnv: readonly string[],
): Record<string, DataOverride> {
  const data: Record<string, DataOverride> = {};
  const add = (flag: string, key: string, value: string) => {
    if (!DATA_KEY.test(key)) {
      throw new UsageError(
        `${flag}: ${JSON.stringify(key)} is not a data key (expected snake_case such as ssh_user).`,
      );
    }
    if (Object.hasOwn(data, key)) {
      throw new UsageError(`${flag}: the data key ${key} is given twice (--data / --data-env).`);
    }
    data[key] = { text: value, value: parseDataValue(value) };
  };
  for (const text of values) add('--data', ...splitKeyValue('--data', text));
  for (const text of fromEnv) {
    const [key, name] = splitKeyValue('--data-env', text);
    add('--data-env', key, dataFromEnvironment(key, name));
  }
  return data;
}

function limitOption(flags: RawFlags): string[] {
  const limit = flags.seen.get('limit') ?? [];
  if (limit.some((value) => value === '')) {
    throw new UsageError(`--limit expects ${FLAGS.limit.value}, got an empty value.`);
  }
  return limit;
}

/** The options of exec, checked (become flags that need --sudo / --doas, --parallel). */
export function execOptions(flags: RawFlags): ExecOptions {
  const parallelText = single(flags, 'parallel');
  if (parallelText !== undefined && !POSITIVE_INTEGER.test(parallelText)) {
    throw new UsageError(
      `--parallel expects ${FLAGS.parallel.value}, got ${JSON.stringify(parallelText)}.`,
    );
  }
  const options: ExecOptions = {
    ...outputOptions(flags),
    sudo: flags.seen.has('sudo'),
    sudoUser: single(flags, 'sudo-user'),
    useSudoPassword: flags.seen.has('use-sudo-password'),
    suUser: single(flags, 'su-user'),
    doas: flags.seen.has('doas'),
    doasUser: single(flags, 'doas-user'),
    shellExecutable: single(flags, 'shell-executable'),
    chdir: single(flags, 'chdir'),
    env: envOption(flags.seen.get('env') ?? []),
    data: dataOption(flags.seen.get('data') ?? [], flags.seen.get('data-env') ?? []),
    parallel: parallelText === undefined ? undefined : Number(parallelText),
    limit: limitOption(flags),
  };
  if (options.sudoUser !== undefined && !options.sudo) {
    throw new UsageError('--sudo-user needs --sudo (it says which user sudo switches to).');
  }
  if (options.useSudoPassword && !options.sudo) {
    throw new UsageError('--use-sudo-password needs --sudo.');
  }
  if (options.doasUser !== undefined && !options.doas) {
    throw new UsageError('--doas-user needs --doas (it says which user doas switches to).');
  }
  return options;
}

/** The options of deploys, operations, facts and debug-inventory: exec's and the deploy-only ones. */
export function deployOptions(flags: RawFlags): DeployOptions {
  const percentText = single(flags, 'fail-percent');
  if (percentText !== undefined && !PERCENT.test(percentText)) {
    throw new UsageError(
      `--fail-percent expects ${FLAGS['fail-percent'].value}, got ${JSON.stringify(percentText)}.`,
    );
  }
  return {
    ...execOptions(flags),
    yes: flags.seen.has('yes'),
    dry: flags.seen.has('dry'),
    diff: flags.seen.has('diff'),
    serial: flags.seen.has('serial'),
    failPercent: percentText === undefined ? undefined : Number(percentText),
  };
}

/** `key=value` words of an ad hoc operation or fact; `true`/`false` become booleans. */
export function keyValueArgs(
  what: string,
  words: readonly string[],
): Record<string, string | boolean> {
  const args: Record<string, string | boolean> = {};
  for (const word of words) {
    const at = word.indexOf('=');
    if (at <= 0) {
      throw new UsageError(
        `${what}: expected arguments as key=value, got ${JSON.stringify(word)}.`,
      );
    }
    const value = word.slice(at + 1);
    const lower = value.toLowerCase();
    args[word.slice(0, at)] = lower === 'true' ? true : lower === 'false' ? false : value;
  }
  return args;
}
