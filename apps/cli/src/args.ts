import {
  type DataOverride,
  dataFromEnvironment,
  parseDataValue,
  splitKeyValue,
} from './data-value.js';
import { UsageError } from './usage-error.js';

/** How much the CLI says and in what form; every command takes these. */
export interface OutputOptions {
  /** 0 by default, 1 with `-v`, 2 with `-vv`. */
  readonly verbosity: number;
  readonly debug: boolean;
  readonly json: boolean;
}

/** The options of `infra INVENTORY exec`, pyinfra's names. */
export interface ExecOptions extends OutputOptions {
  readonly sudo: boolean;
  readonly sudoUser: string | undefined;
  readonly useSudoPassword: boolean;
  readonly suUser: string | undefined;
  readonly doas: boolean;
  readonly doasUser: string | undefined;
  readonly shellExecutable: string | undefined;
  readonly chdir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, DataOverride>>;
  /** How many hosts run at once; undefined means all of them. */
  readonly parallel: number | undefined;
  /** Groups or host-name globs to run on (repeatable). */
  readonly limit: readonly string[];
}

/** The options of deploys, ad hoc operations, facts and debug-inventory (pyinfra's names). */
export interface DeployOptions extends ExecOptions {
  /** `-y`/`--yes`: apply the changes without asking. */
  readonly yes: boolean;
  /** Stop after showing what would change. */
  readonly dry: boolean;
  /** Show file content changes. */
  readonly diff: boolean;
  /** One host at a time. */
  readonly serial: boolean;
  /** Stop the run once more than this percentage of hosts has failed. */
  readonly failPercent: number | undefined;
}

export type HelpTopic = 'general' | 'exec' | 'connectors' | 'deploy';

export type CliCommand =
  | { readonly kind: 'help'; readonly topic: HelpTopic }
  | { readonly kind: 'version' }
  | { readonly kind: 'connectors'; readonly options: OutputOptions }
  | {
      readonly kind: 'check';
      /** Deploy and inventory files to type-check. */
      readonly files: readonly string[];
      readonly options: OutputOptions;
    }
  | {
      readonly kind: 'exec';
      readonly inventory: string;
      /** The words after `--`, each to be quoted on its own. */
      readonly command: readonly string[];
      readonly options: ExecOptions;
    }
  | {
      readonly kind: 'deploy';
      readonly inventory: string;
      /** Deploy files, run in order. */
      readonly files: readonly string[];
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'operation';
      readonly inventory: string;
      /** e.g. files.put */
      readonly operation: string;
      readonly args: Readonly<Record<string, string | boolean>>;
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'fact';
      readonly inventory: string;
      readonly fact: string;
      readonly args: Readonly<Record<string, string | boolean>>;
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'debug-inventory';
      readonly inventory: string;
      readonly options: DeployOptions;
    };

type FlagName =
  | 'sudo'
  | 'sudo-user'
  | 'use-sudo-password'
  | 'su-user'
  | 'doas'
  | 'doas-user'
  | 'shell-executable'
  | 'chdir'
  | 'env'
  | 'data'
  | 'data-env'
  | 'parallel'
  | 'debug'
  | 'json'
  | 'help'
  | 'version'
  | 'yes'
  | 'dry'
  | 'diff'
  | 'limit'
  | 'serial'
  | 'fail-percent';

/** What each long flag takes: nothing, or a value described for error messages. */
const FLAGS: Readonly<
  Record<FlagName, { value?: string; execOnly: boolean; deployOnly?: boolean }>
> = {
  sudo: { execOnly: true },
  'sudo-user': { value: 'a user name', execOnly: true },
  'use-sudo-password': { execOnly: true },
  'su-user': { value: 'a user name', execOnly: true },
  doas: { execOnly: true },
  'doas-user': { value: 'a user name', execOnly: true },
  'shell-executable': { value: 'a shell such as sh or bash', execOnly: true },
  chdir: { value: 'a directory', execOnly: true },
  env: { value: 'KEY=VALUE', execOnly: true },
  data: { value: 'KEY=VALUE', execOnly: true },
  'data-env': { value: 'KEY=ENV_VAR', execOnly: true },
  parallel: { value: 'a whole number of hosts, at least 1', execOnly: true },
  debug: { execOnly: false },
  json: { execOnly: false },
  help: { execOnly: false },
  version: { execOnly: false },
  yes: { execOnly: true, deployOnly: true },
  dry: { execOnly: true, deployOnly: true },
  diff: { execOnly: true, deployOnly: true },
  limit: { value: 'a group name or a host-name glob', execOnly: true },
  serial: { execOnly: true, deployOnly: true },
  'fail-percent': { value: 'a percentage from 0 to 100', execOnly: true, deployOnly: true },
};

const DEPLOY_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const OPERATION_NAME = /^[a-z]+\.[a-z_]+$/;
const PERCENT = /^(100|[1-9]?\d)$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATA_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const POSITIVE_INTEGER = /^[1-9]\d*$/;

function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name);
}

interface RawFlags {
  readonly seen: Map<FlagName, string[]>;
  verbosity: number;
}

function readFlags(words: readonly string[]): { flags: RawFlags; positionals: string[] } {
  const flags: RawFlags = { seen: new Map(), verbosity: 0 };
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(2, eq === -1 ? undefined : eq);
      if (!isFlagName(name)) {
        throw new UsageError(`Unknown option --${name}. Run "infra --help" for the options.`);
      }
      const spec = FLAGS[name];
      let value = '';
      if (spec.value === undefined) {
        if (eq !== -1)
          throw new UsageError(`--${name} takes no value, got ${JSON.stringify(word)}.`);
      } else if (eq !== -1) {
        value = word.slice(eq + 1);
      } else {
        const next = words[i + 1];
        if (next === undefined || next.startsWith('--')) {
          throw new UsageError(`--${name} expects ${spec.value}, got nothing.`);
        }
        value = next;
        i++;
      }
      const list = flags.seen.get(name) ?? [];
      list.push(value);
      flags.seen.set(name, list);
    } else if (word === '-y') {
      flags.seen.set('yes', ['']);
    } else if (word === '-h') {
      flags.seen.set('help', ['']);
    } else if (/^-v+$/.test(word)) {
      flags.verbosity += word.length - 1;
    } else if (word.startsWith('-') && word !== '-') {
      throw new UsageError(
        `Unknown option ${word}. Run "infra --help" for the options (short options are -v, -vv, -y and -h).`,
      );
    } else {
      positionals.push(word);
    }
  }
  return { flags, positionals };
}

function single(flags: RawFlags, name: FlagName): string | undefined {
  const values = flags.seen.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) {
    throw new UsageError(`--${name} was given ${values.length} times; give it once.`);
  }
  const value = values[0] as string;
  if (value === '')
    throw new UsageError(`--${name} expects ${FLAGS[name].value}, got an empty value.`);
  return value;
}

function outputOptions(flags: RawFlags): OutputOptions {
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

function execOptions(flags: RawFlags): ExecOptions {
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

function deployOptions(flags: RawFlags): DeployOptions {
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
function keyValueArgs(what: string, words: readonly string[]): Record<string, string | boolean> {
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

function deployCommand(
  inventory: string,
  words: readonly string[],
  flags: RawFlags,
  after: readonly string[] | undefined,
): CliCommand | undefined {
  const [second, ...rest] = words;
  if (second === undefined) return undefined;
  const known =
    second === 'debug-inventory' ||
    second === 'fact' ||
    DEPLOY_FILE.test(second) ||
    OPERATION_NAME.test(second);
  if (!known) return undefined;
  if (after !== undefined) {
    throw new UsageError(`${second}: nothing goes after --; -- is for exec only.`);
  }
  if (second === 'debug-inventory') {
    if (rest.length > 0) {
      throw new UsageError(
        `debug-inventory takes no arguments, got ${JSON.stringify(rest.join(' '))}.`,
      );
    }
    return { kind: 'debug-inventory', inventory, options: deployOptions(flags) };
  }
  if (second === 'fact') {
    const [fact, ...factArgs] = rest;
    if (fact === undefined) {
      throw new UsageError('fact: name the fact, e.g. infra @local fact server.os.');
    }
    return {
      kind: 'fact',
      inventory,
      fact,
      args: keyValueArgs(`fact ${fact}`, factArgs),
      options: deployOptions(flags),
    };
  }
  if (DEPLOY_FILE.test(second)) {
    const notFiles = rest.filter((word) => !DEPLOY_FILE.test(word));
    if (notFiles.length > 0) {
      throw new UsageError(
        `Deploy files must end in .ts, .mts, .js or .mjs; ${JSON.stringify(notFiles[0])} does not.`,
      );
    }
    return { kind: 'deploy', inventory, files: words, options: deployOptions(flags) };
  }
  if (OPERATION_NAME.test(second)) {
    return {
      kind: 'operation',
      inventory,
      operation: second,
      args: keyValueArgs(second, rest),
      options: deployOptions(flags),
    };
  }
  return undefined;
}

function helpTopic(positionals: readonly string[]): HelpTopic {
  if (positionals.includes('connectors')) return 'connectors';
  if (positionals.includes('exec')) return 'exec';
  if (positionals.includes('deploy')) return 'deploy';
  return 'general';
}

/**
 * `infra @local exec uname -a`: `-a` is the command's, not infra's. Say so, with
 * the command line that works, instead of only "Unknown option -a".
 */
function readFlagsWithExecHint(
  before: readonly string[],
  after: readonly string[] | undefined,
): ReturnType<typeof readFlags> {
  try {
    return readFlags(before);
  } catch (error) {
    const at = before.indexOf('exec');
    const unknownOption = error instanceof UsageError && error.message.startsWith('Unknown option');
    if (!unknownOption || after !== undefined || at <= 0) throw error;
    const inventory = before.slice(0, at).find((word) => !word.startsWith('-')) ?? 'INVENTORY';
    const command = before.slice(at + 1).join(' ');
    throw new UsageError(
      `${error.message.split('. Run')[0]}: exec takes the command after --, so its options are not read as infra's. Put the command after --, e.g. infra ${inventory} exec -- ${command || 'uname -a'}.`,
    );
  }
}

/**
 * Read the CLI's arguments. Flags may stand anywhere before `--`; the words after
 * `--` are the command to run, untouched. Throws `UsageError` naming the flag and
 * what it expects.
 */
export function parseArgs(argv: readonly string[]): CliCommand {
  const separator = argv.indexOf('--');
  const before = separator === -1 ? argv : argv.slice(0, separator);
  const after = separator === -1 ? undefined : argv.slice(separator + 1);

  // --help and --version win over everything else, even other mistakes.
  if (before.includes('--help') || before.includes('-h')) {
    return { kind: 'help', topic: helpTopic(before.filter((w) => !w.startsWith('-'))) };
  }
  if (before.includes('--version')) return { kind: 'version' };

  const { flags, positionals } = readFlagsWithExecHint(before, after);
  const [first, second, ...rest] = positionals;

  if (first === undefined) {
    if (after !== undefined) {
      throw new UsageError(
        'Missing INVENTORY and command: expected infra INVENTORY exec -- CMD [ARGS...].',
      );
    }
    return { kind: 'help', topic: 'general' };
  }
  if (first === 'help') return { kind: 'help', topic: helpTopic(positionals.slice(1)) };

  if (first === 'connectors') {
    if (positionals.length > 1 || after !== undefined) {
      throw new UsageError(
        `"infra connectors" takes no arguments, got ${JSON.stringify([...positionals.slice(1), ...(after ?? [])].join(' '))}.`,
      );
    }
    for (const name of flags.seen.keys()) {
      if (FLAGS[name].execOnly) {
        throw new UsageError(
          `--${name} is an option of exec; "infra connectors" does not take it.`,
        );
      }
    }
    return { kind: 'connectors', options: outputOptions(flags) };
  }

  if (first === 'check') {
    const files = positionals.slice(1);
    if (files.length === 0 || after !== undefined) {
      throw new UsageError(
        'check: name the deploy and inventory files to type-check, e.g. infra check inventory.ts deploy.ts.',
      );
    }
    for (const name of flags.seen.keys()) {
      if (FLAGS[name].execOnly) {
        throw new UsageError(
          `--${name} is an option of exec and deploys; "infra check" does not take it.`,
        );
      }
    }
    return { kind: 'check', files, options: outputOptions(flags) };
  }

  if (first === 'exec') {
    throw new UsageError(
      'Missing INVENTORY before exec: expected infra INVENTORY exec -- CMD, e.g. infra @local exec -- uname -a.',
    );
  }
  if (second === undefined) {
    throw new UsageError(
      `Missing command after the inventory ${JSON.stringify(first)}: expected exec, e.g. infra ${first} exec -- uname -a.`,
    );
  }
  if (second !== 'exec') {
    const command = deployCommand(first, positionals.slice(1), flags, after);
    if (command) return command;
    throw new UsageError(
      `Unknown command ${JSON.stringify(second)}: expected exec (infra INVENTORY exec -- CMD), deploy files (infra INVENTORY deploy.ts), an operation (infra INVENTORY files.put src=a dest=b), fact NAME, debug-inventory, or connectors.`,
    );
  }
  for (const name of flags.seen.keys()) {
    if (FLAGS[name].deployOnly) {
      throw new UsageError(`--${name} is an option of deploys; exec does not take it.`);
    }
  }
  if (rest.length > 0 || after === undefined) {
    throw new UsageError(
      `exec: put the command after --, e.g. infra ${first} exec -- ${rest.length > 0 ? rest.join(' ') : 'uname -a'}.`,
    );
  }
  if (after.length === 0) {
    throw new UsageError(
      `exec: nothing to run after --; expected infra ${first} exec -- CMD [ARGS...].`,
    );
  }
  return { kind: 'exec', inventory: first, command: after, options: execOptions(flags) };
}
