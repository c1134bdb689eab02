import { UsageError } from './usage-error.js';

/** The CLI's long flags, without the leading `--`. */
export type FlagName =
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
export const FLAGS: Readonly<
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

function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name);
}

/** The flags read from the command line, by name, and the -v count. */
export interface RawFlags {
  readonly seen: Map<FlagName, string[]>;
  verbosity: number;
}

/** Split the words before `--` into flags and positionals; throws `UsageError` naming a bad flag. */
export function readFlags(words: readonly string[]): { flags: RawFlags; positionals: string[] } {
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

/** The one value of a flag given at most once (an empty value refused). */
export function single(flags: RawFlags, name: FlagName): string | undefined {
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

/**
 * `infra @local exec uname -a`: `-a` is the command's, not infra's. Say so, with
 * the command line that works, instead of only "Unknown option -a".
 */
export function readFlagsWithExecHint(
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
