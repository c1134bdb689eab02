import { resolve } from 'node:path';
import {
  type DataMetaMap,
  InventoryConnector,
  InventoryError,
  type NamesData,
  type NamesDataContext,
} from '@infra/core';
import {
  defaultSshConfigFile,
  listSshConfigHosts,
  matchPatternList,
  SshConfigError,
} from './ssh-config.js';
import { SSH_DATA_META } from './ssh-data.js';

/** The environment variable naming the ssh_config file `@ssh-config` reads instead of ~/.ssh/config. */
export const SSH_CONFIG_FILE_ENV = 'INFRA_SSH_CONFIG_FILE';

/** What a pattern may hold: host-name characters, the `*` / `?` wildcards, `!` and `,`. */
const PATTERN_CHARACTERS = /^[A-Za-z0-9._\-*?!,:[\]]+$/;

const EXPECTED =
  'expected @ssh-config:PATTERN, a comma-separated list of ssh_config Host patterns with * and ? wildcards and !negations, e.g. @ssh-config:web*, @ssh-config:*.prod,!db*';

/** Check a `@ssh-config:` pattern and split it into its patterns; throws `InventoryError`. */
export function parseSshConfigPattern(arg: string | undefined): string[] {
  if (arg === undefined || arg.trim() === '') {
    throw new InventoryError(`@ssh-config needs a pattern: ${EXPECTED}.`);
  }
  if (!PATTERN_CHARACTERS.test(arg)) {
    throw new InventoryError(
      `@ssh-config:${arg}: the pattern holds a character a host pattern cannot (spaces, quotes, slashes...): ${EXPECTED}.`,
    );
  }
  const patterns = arg.split(',');
  if (patterns.some((p) => p === '' || p === '!')) {
    throw new InventoryError(`@ssh-config:${arg}: the pattern has an empty entry: ${EXPECTED}.`);
  }
  if (patterns.every((p) => p.startsWith('!'))) {
    throw new InventoryError(
      `@ssh-config:${arg}: only negated patterns, so no host can match: ${EXPECTED}.`,
    );
  }
  return patterns;
}

/**
 * The ssh_config file `@ssh-config` reads: the `ssh_config_file` it is given (`--data`,
 * or the inventory entry's data), else `INFRA_SSH_CONFIG_FILE` when set, else `~/.ssh/config`.
 */
export function sshConfigInventoryFile(
  env: NodeJS.ProcessEnv = process.env,
  given: unknown = undefined,
): string {
  if (given !== undefined) {
    if (typeof given !== 'string' || given === '') {
      throw new InventoryError(
        `@ssh-config: ssh_config_file is ${typeof given} ${JSON.stringify(given)}, expected the path of an ssh_config file (e.g. --data ssh_config_file=./ssh_config).`,
      );
    }
    return resolve(given);
  }
  const named = env[SSH_CONFIG_FILE_ENV];
  if (named !== undefined && named !== '') return resolve(named);
  const file = defaultSshConfigFile();
  if (file === undefined) {
    throw new InventoryError(
      `@ssh-config: there is no ~/.ssh/config to read hosts from. Create it, or name another file with --data ssh_config_file=FILE or in ${SSH_CONFIG_FILE_ENV}.`,
    );
  }
  return file;
}

/**
 * An inventory connector: `@ssh-config:PATTERN` yields every `Host` entry of the
 * user's ssh_config (or the `ssh_config_file` it is given; Include followed) whose name matches PATTERN, as `@ssh:NAME`
 * hosts in the group PATTERN, with `ssh_config_file` set to the file read so the
 * ssh connector resolves the alias in the same file. Entries with wildcards or
 * negations (`Host *`, `Host !db*`) are patterns, not hosts.
 */
export class SshConfigInventoryConnector extends InventoryConnector {
  static override readonly dataMeta: DataMetaMap = {
    ssh_config_file: {
      ...SSH_DATA_META.ssh_config_file,
      description:
        'ssh_config file to read the hosts from (default $INFRA_SSH_CONFIG_FILE, else ~/.ssh/config); the hosts use it too',
    },
  };
  static override readonly description =
    'Inventory: the Host entries of ~/.ssh/config (or ssh_config_file, or $INFRA_SSH_CONFIG_FILE) that match a pattern, as ssh hosts';

  static override makeNamesData(arg: string | undefined, context?: NamesDataContext): NamesData[] {
    const patterns = parseSshConfigPattern(arg);
    const file = sshConfigInventoryFile(process.env, context?.data.ssh_config_file);
    let entries: ReturnType<typeof listSshConfigHosts>;
    try {
      entries = listSshConfigHosts(file);
    } catch (error) {
      if (error instanceof SshConfigError) {
        throw new InventoryError(`@ssh-config:${arg}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    return entries
      .filter((entry) => matchPatternList(patterns, entry.name))
      .map((entry): NamesData => [`@ssh:${entry.name}`, { ssh_config_file: file }, [arg!]]);
  }
}
