import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import {
  CRON_NAME_COMMENT,
  type CrontabEntry,
  crontabLinesFact,
  parseCrontabLine,
} from '../facts/crontab-facts.js';
import { defineOperation } from '../operation.js';
import { commandSteps, flag } from './attributes.js';

export interface CrontabOperationArgs {
  /** The command cron runs. */
  command: string;
  /** Present (default) or removed. */
  present?: boolean | string;
  /** Whose crontab; default the connecting (or become) user. */
  user?: string;
  /** Identify the entry by this name (a `# infra-name=NAME` comment) instead of by its command. */
  cronName?: string;
  minute?: string | number;
  hour?: string | number;
  month?: string | number;
  dayOfWeek?: string | number;
  dayOfMonth?: string | number;
  /** `@reboot`, `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`, `@annually`, `@midnight`. */
  specialTime?: string;
}

const SPECIAL_TIMES = [
  '@reboot',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
];

function timeField(name: string, value: string | number | undefined): string {
  const text = value === undefined ? '*' : String(value);
  if (!/^[\w*/,-]+$/.test(text)) {
    throw new OperationArgumentError(
      'crontab.crontab',
      `${name} ${JSON.stringify(text)} is not a cron time field: expected e.g. *, 5, */15, 1-5 or mon,wed.`,
    );
  }
  return text;
}

/** The crontab line for `args`. */
export function crontabLine(args: CrontabOperationArgs): string {
  const command = args.command;
  if (typeof command !== 'string' || command.trim() === '' || /[\n\r]/.test(command)) {
    throw new OperationArgumentError(
      'crontab.crontab',
      'command is required and must be one line (cron runs one line per entry).',
    );
  }
  if (args.specialTime !== undefined) {
    if (!SPECIAL_TIMES.includes(args.specialTime)) {
      throw new OperationArgumentError(
        'crontab.crontab',
        `specialTime ${JSON.stringify(args.specialTime)}: expected one of ${SPECIAL_TIMES.join(', ')}.`,
      );
    }
    return `${args.specialTime} ${command}`;
  }
  return [
    timeField('minute', args.minute),
    timeField('hour', args.hour),
    timeField('dayOfMonth', args.dayOfMonth),
    timeField('month', args.month),
    timeField('dayOfWeek', args.dayOfWeek),
    command,
  ].join(' ');
}

function sameEntry(a: Omit<CrontabEntry, 'name'>, b: Omit<CrontabEntry, 'name'>): boolean {
  return (
    a.command === b.command &&
    a.specialTime === b.specialTime &&
    a.minute === b.minute &&
    a.hour === b.hour &&
    a.dayOfMonth === b.dayOfMonth &&
    a.month === b.month &&
    a.dayOfWeek === b.dayOfWeek
  );
}

/**
 * The crontab `lines` with the entry for `args` added, changed or removed; null
 * when they already are as wanted. The entry is found by its name comment
 * (`cronName`) or else by its command.
 */
export function editCrontab(lines: readonly string[], args: CrontabOperationArgs): string[] | null {
  const present = flag(args.present, true);
  const wanted = crontabLine(args);
  const wantedEntry = parseCrontabLine(wanted);
  const name = args.cronName;
  if (name !== undefined && (/[\n\r]/.test(name) || name.trim() === '')) {
    throw new OperationArgumentError('crontab.crontab', 'cronName must be one non-empty line.');
  }
  let at = -1;
  for (let i = 0; i < lines.length; i++) {
    const entry = parseCrontabLine(lines[i] ?? '');
    if (!entry) continue;
    const above = i > 0 ? lines[i - 1] : undefined;
    const named = above?.startsWith(CRON_NAME_COMMENT)
      ? above.slice(CRON_NAME_COMMENT.length).trim()
      : undefined;
    if (name !== undefined ? named === name : entry.command === args.command) {
      at = i;
      break;
    }
  }
  const hasComment = at > 0 && (lines[at - 1] ?? '').startsWith(CRON_NAME_COMMENT);
  const out = [...lines];
  if (!present) {
    if (at === -1) return null;
    out.splice(hasComment ? at - 1 : at, hasComment ? 2 : 1);
    return out;
  }
  const comment = name === undefined ? [] : [`${CRON_NAME_COMMENT}${name}`];
  if (at === -1) {
    while (out.length > 0 && (out.at(-1) ?? '').trim() === '') out.pop();
    return [...out, ...comment, wanted];
  }
  const current = parseCrontabLine(lines[at] ?? '');
  if (current && wantedEntry && sameEntry(current, wantedEntry)) return null;
  out[at] = wanted;
  return out;
}

export const crontabOperation = defineOperation<CrontabOperationArgs, 'crontab.crontab'>({
  name: 'crontab.crontab',
  argNames: [
    'command',
    'present',
    'user',
    'cronName',
    'minute',
    'hour',
    'month',
    'dayOfWeek',
    'dayOfMonth',
    'specialTime',
  ],
  description:
    "Add, change or remove one entry of a user's crontab (by its command, or by cronName), written back with crontab -.",
  label: (args) => `crontab.crontab ${args.cronName ?? args.command}`,
  plan: async (context, args) => {
    const lines = await context.fact(crontabLinesFact, args.user ? { user: args.user } : {});
    const edited = editCrontab(lines, args);
    if (edited === null) return { steps: [] };
    const who = args.user ? sh`-u ${args.user} ` : sh``;
    const text = edited.length === 0 ? '' : `${edited.join('\n')}\n`;
    return { steps: commandSteps([sh`printf '%s' ${text} | crontab ${who}-`]) };
  },
});
