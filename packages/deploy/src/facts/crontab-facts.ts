import { sh } from '@infra/core';
import { defineFact } from './fact.js';

/** One crontab line that runs a command. */
export interface CrontabEntry {
  readonly command: string;
  readonly minute: string;
  readonly hour: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
  /** `@reboot`, `@daily`, ...: then the five time fields are `*`. */
  readonly specialTime?: string;
  /** The `# infra-name=NAME` comment just above, which crontab.crontab's `cronName` matches. */
  readonly name?: string;
}

export interface CrontabArgs {
  /** Whose crontab (`crontab -u USER`); default the connecting (or become) user. */
  readonly user?: string;
}

export const CRON_NAME_COMMENT = '# infra-name=';

/** Read one crontab line; undefined for comments, blank lines and `NAME=value` settings. */
export function parseCrontabLine(line: string): Omit<CrontabEntry, 'name'> | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#') || /^[A-Za-z_][\w]*\s*=/.test(text)) return undefined;
  const special = /^(@\w+)\s+(.+)$/.exec(text);
  if (special?.[1] && special[2]) {
    return {
      command: special[2],
      minute: '*',
      hour: '*',
      dayOfMonth: '*',
      month: '*',
      dayOfWeek: '*',
      specialTime: special[1],
    };
  }
  const fields = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(text);
  if (!fields) return undefined;
  const [, minute = '', hour = '', dayOfMonth = '', month = '', dayOfWeek = '', command = ''] =
    fields;
  return { command, minute, hour, dayOfMonth, month, dayOfWeek };
}

/** Read a crontab's lines into its entries, each with the name comment above it. */
export function parseCrontab(lines: readonly string[]): CrontabEntry[] {
  const entries: CrontabEntry[] = [];
  let name: string | undefined;
  for (const line of lines) {
    if (line.startsWith(CRON_NAME_COMMENT)) {
      name = line.slice(CRON_NAME_COMMENT.length).trim();
      continue;
    }
    const entry = parseCrontabLine(line);
    if (entry) entries.push(name === undefined ? entry : { ...entry, name });
    if (line.trim() !== '') name = undefined;
  }
  return entries;
}

/** `crontab -l` (an empty answer when the user has no crontab). */
export function crontabListCommand(user: string | undefined) {
  const who = user ? sh`-u ${user} ` : sh``;
  return sh`crontab ${who}-l 2>/dev/null || true`;
}

export const crontabEntriesFact = defineFact<CrontabArgs, CrontabEntry[], 'crontab.entries'>({
  name: 'crontab.entries',
  description:
    "A user's crontab entries (crontab -l): command, minute, hour, dayOfMonth, month, dayOfWeek or specialTime, and the infra-name comment.",
  argNames: ['user'],
  optionalArgs: ['user'],
  command: ({ user }) => crontabListCommand(user),
  parse: (output) => parseCrontab(output.stdoutLines),
});

/** The crontab's lines as they are, for crontab.crontab to edit. */
export const crontabLinesFact = defineFact<CrontabArgs, string[], 'crontab.lines'>({
  name: 'crontab.lines',
  description: "A user's crontab as lines (crontab -l), empty when there is none.",
  argNames: ['user'],
  optionalArgs: ['user'],
  command: ({ user }) => crontabListCommand(user),
  parse: (output) => [...output.stdoutLines],
});
