import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import type { PathInfo } from '../facts/file-facts.js';

/** A file mode as given: `0o644`, `"644"` or `"0644"` (octal text). */
export type ModeInput = number | string;

/** The mode as a number, or undefined when none was given; bad text is an `OperationArgumentError`. */
export function parseMode(operation: string, mode: ModeInput | undefined): number | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)
    return mode;
  if (typeof mode === 'string' && /^[0-7]{3,4}$/.test(mode)) return Number.parseInt(mode, 8);
  throw new OperationArgumentError(
    operation,
    `mode ${JSON.stringify(mode)} is not a file mode: expected octal text such as "644" or a number such as 0o644.`,
  );
}

/** Octal text for chmod, e.g. 420 -> "644". */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

export interface Attributes {
  readonly mode?: number | undefined;
  readonly user?: string | undefined;
  readonly group?: string | undefined;
}

/**
 * The chmod/chown commands that bring `path` to the wanted mode, user and group;
 * none when it already has them. `current` is null for a path about to be created.
 */
export function attributeCommands(
  path: string,
  current: PathInfo | null,
  wanted: Attributes,
): StringCommand[] {
  const commands: StringCommand[] = [];
  const has =
    current !== null && current.type !== 'other' && current.type !== 'link' ? current : undefined;
  if (wanted.mode !== undefined && (!has || Number.parseInt(has.mode, 8) !== wanted.mode)) {
    commands.push(sh`chmod ${modeText(wanted.mode)} ${path}`);
  }
  const userDiffers = wanted.user !== undefined && has?.user !== wanted.user;
  const groupDiffers = wanted.group !== undefined && has?.group !== wanted.group;
  if (userDiffers || groupDiffers) {
    const owner = `${wanted.user ?? ''}${wanted.group !== undefined ? `:${wanted.group}` : ''}`;
    commands.push(sh`chown ${owner} ${path}`);
  }
  return commands;
}

export function commandSteps(commands: readonly StringCommand[]) {
  return commands.map((command) => ({ kind: 'command' as const, command }));
}

/** `true`/`false` from an ad hoc `key=value` or a boolean. */
export function flag(value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  return value.toLowerCase() === 'true';
}

export function required<T>(operation: string, name: string, value: T | undefined): T {
  if (value === undefined || value === '') {
    throw new OperationArgumentError(operation, `the argument ${name} is required.`);
  }
  return value;
}

/** A list argument: an array as is, or text split on commas and spaces (ad hoc `packages=a,b`). */
export function listOf(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? value.split(/[\s,]+/) : [...value];
  return list.filter((item) => item !== '');
}

/** A whole number argument (ad hoc text such as `uid=1500` too), or undefined when not given. */
export function integerOf(
  operation: string,
  name: string,
  value: number | string | undefined,
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new OperationArgumentError(
      operation,
      `${name} ${JSON.stringify(value)} is not a whole number: expected e.g. ${name}=1500.`,
    );
  }
  return number;
}
