import type { OutputStream } from '@infra/core';

/** How one host's run ended. */
export type HostStatus = 'succeeded' | 'failed' | 'connect-failed' | 'interrupted' | 'not-started';

export interface HostOutcome {
  readonly host: string;
  readonly status: HostStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Why the host failed when it was not the command's exit code (already masked). */
  readonly error?: { readonly code: string; readonly message: string };
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  dim: '\x1b[2m',
} as const;

export type Colour = keyof typeof ANSI;

export function paint(text: string, colour: Colour, enabled: boolean): string {
  return enabled ? `${ANSI[colour]}${text}${ANSI.reset}` : text;
}

/**
 * Colour on a terminal unless `NO_COLOR` is set (https://no-color.org); `FORCE_COLOR`
 * (not `0`) turns it on without one.
 */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0')
    return true;
  return stream.isTTY === true;
}

/**
 * One output line with its host: `[host] line`. A stderr line is red with colour;
 * without colour it is marked `[host:err] line`, so it stays visible in a log file.
 */
export function formatOutputLine(
  host: string,
  stream: OutputStream,
  line: string,
  colour: boolean,
): string {
  if (stream === 'stderr') {
    return colour
      ? `${paint(`[${host}]`, 'cyan', true)} ${paint(line, 'red', true)}`
      : `[${host}:err] ${line}`;
  }
  return `${paint(`[${host}]`, 'cyan', colour)} ${line}`;
}

/** A host's message that is not command output: `[host] message`. */
export function formatHostMessage(
  host: string,
  message: string,
  colour: boolean,
  tone?: Colour,
): string {
  return `${paint(`[${host}]`, 'cyan', colour)} ${tone ? paint(message, tone, colour) : message}`;
}

/** What ended a host's run, in a few words: `exit code 1`, `killed by SIGTERM`, the error. */
export function describeOutcome(outcome: HostOutcome): string {
  switch (outcome.status) {
    case 'succeeded':
      return `succeeded (exit code ${outcome.exitCode ?? 0})`;
    case 'connect-failed':
      return `could not connect: ${outcome.error?.message ?? 'unknown reason'}`;
    case 'not-started':
      return 'not started (interrupted)';
    case 'interrupted':
      return 'interrupted';
    case 'failed':
      if (outcome.error) return `failed: ${outcome.error.message}`;
      if (outcome.signal) return `failed: killed by ${outcome.signal}`;
      return `failed: exit code ${outcome.exitCode}`;
  }
}

export interface RunSummary {
  readonly hosts: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly interrupted: number;
  readonly failedHosts: readonly string[];
}

export function summarize(outcomes: readonly HostOutcome[]): RunSummary {
  const failedHosts = outcomes
    .filter((o) => o.status === 'failed' || o.status === 'connect-failed')
    .map((o) => o.host);
  return {
    hosts: outcomes.length,
    succeeded: outcomes.filter((o) => o.status === 'succeeded').length,
    failed: failedHosts.length,
    interrupted: outcomes.filter((o) => o.status === 'interrupted' || o.status === 'not-started')
      .length,
    failedHosts,
  };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The last line of a run: `2 hosts: 1 succeeded, 1 failed (web2)`. */
export function formatSummary(summary: RunSummary, colour: boolean): string {
  const parts = [paint(`${summary.succeeded} succeeded`, 'green', colour && summary.succeeded > 0)];
  if (summary.failed > 0) {
    parts.push(
      paint(`${summary.failed} failed (${summary.failedHosts.join(', ')})`, 'red', colour),
    );
  }
  if (summary.interrupted > 0)
    parts.push(paint(`${summary.interrupted} interrupted`, 'yellow', colour));
  return `${paint('Summary:', 'bold', colour)} ${plural(summary.hosts, 'host')}: ${parts.join(', ')}`;
}

/** The NDJSON events of `--json`, one object per line on stdout. */
export type JsonEvent =
  | { type: 'connect'; host: string; connector: string; success: boolean; error?: JsonError }
  | { type: 'output'; host: string; stream: OutputStream; line: string }
  | {
      type: 'result';
      host: string;
      success: boolean;
      status: HostStatus;
      exitCode: number | null;
      signal: string | null;
      error?: JsonError;
    }
  | ({ type: 'summary'; exitCode: number } & RunSummary)
  | ({ type: 'error' } & JsonError);

export interface JsonError {
  readonly code: string;
  readonly message: string;
}

export function resultEvent(outcome: HostOutcome): JsonEvent {
  return {
    type: 'result',
    host: outcome.host,
    success: outcome.status === 'succeeded',
    status: outcome.status,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}
