import { resolve } from 'node:path';
import { InventoryConnector, InventoryError, type NamesData } from '@infra/core';
import {
  defaultSshConfigFile,
  listSshConfigHosts,
  matchPatternList,
  SshConfigError,
} from './ssh-config.js';

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
 * The ssh_config file `@ssh-config` reads: `INFRA_SSH_CONFIG_FILE` when set,
 * else `~/.ssh/config`.
 */
export function sshConfigInventoryFile(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[SSH_CONFIG_FILE_ENV];
  if (named !== undefined && named !== '') return resolve(named);
  const file = defaultSshConfigFile();
  if (file === undefined) {
    throw new InventoryError(
      `@ssh-config: there is no ~/.ssh/config to read hosts from. Create it, or name another file in ${SSH_CONFIG_FILE_ENV}.`,
    );
  }
  return file;
}

/**
 * An inventory connector: `@ssh-config:PATTERN` yields every `Host` entry of the
 * user's ssh_config (Include followed) whose name matches PATTERN, as `@ssh:NAME`
 * hosts in the group PATTERN, with `ssh_config_file` set to the file read so the
 * ssh connector resolves the alias in the same file. Entries with wildcards or
 * negations (`Host *`, `Host !db*`) are patterns, not hosts.
 */
export class SshConfigInventoryConnector extends InventoryConnector {
  static override readonly dataMeta = {};
  static override readonly description =
    'Inventory: the Host entries of ~/.ssh/config (or $INFRA_SSH_CONFIG_FILE) that match a pattern, as ssh hosts';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    const patterns = parseSshConfigPattern(arg);
    const file = sshConfigInventoryFile();
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
