import { describe, expect, it } from 'vitest';
import {
  colourEnabled,
  describeOutcome,
  formatOutputLine,
  formatSummary,
  type HostOutcome,
  resultEvent,
  summarize,
} from './output-format.js';

const ESC = '\x1b[';

describe('formatOutputLine', () => {
  it('prefixes each line with its host', () => {
    expect(formatOutputLine('web1', 'stdout', 'hello world', false)).toBe('[web1] hello world');
  });

  it('marks stderr lines without colour', () => {
    expect(formatOutputLine('web1', 'stderr', 'oops', false)).toBe('[web1:err] oops');
  });

  it('paints stderr red with colour, and never marks stdout', () => {
    const err = formatOutputLine('web1', 'stderr', 'oops', true);
    expect(err).toContain(`${ESC}31moops`);
    expect(err).toContain('[web1]');
    const out = formatOutputLine('web1', 'stdout', 'fine', true);
    expect(out).not.toContain(`${ESC}31m`);
    expect(out.endsWith(' fine')).toBe(true);
  });
});

describe('colourEnabled', () => {
  it('follows the terminal', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
  });

  it('honours NO_COLOR and FORCE_COLOR', () => {
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
  });
});

const outcomes: HostOutcome[] = [
  { host: 'a', status: 'succeeded', exitCode: 0, signal: null },
  { host: 'b', status: 'failed', exitCode: 3, signal: null },
  {
    host: 'c',
    status: 'connect-failed',
    exitCode: null,
    signal: null,
    error: { code: 'CONNECT_FAILED', message: 'Could not connect to c: refused' },
  },
  { host: 'd', status: 'not-started', exitCode: null, signal: null },
];

describe('describeOutcome', () => {
  it('says what ended each host', () => {
    expect(outcomes.map(describeOutcome)).toEqual([
      'succeeded (exit code 0)',
      'failed: exit code 3',
      'could not connect: Could not connect to c: refused',
      'not started (interrupted)',
    ]);
    expect(
      describeOutcome({ host: 'e', status: 'failed', exitCode: null, signal: 'SIGKILL' }),
    ).toBe('failed: killed by SIGKILL');
  });
});

describe('summaries', () => {
  it('counts hosts by how they ended', () => {
    expect(summarize(outcomes)).toEqual({
      hosts: 4,
      succeeded: 1,
      failed: 2,
      interrupted: 1,
      failedHosts: ['b', 'c'],
    });
  });

  it('prints one line naming the failed hosts', () => {
    expect(formatSummary(summarize(outcomes), false)).toBe(
      'Summary: 4 hosts: 1 succeeded, 2 failed (b, c), 1 interrupted',
    );
    expect(formatSummary(summarize(outcomes.slice(0, 1)), false)).toBe(
      'Summary: 1 host: 1 succeeded',
    );
  });

  it('turns an outcome into a result event', () => {
    expect(resultEvent(outcomes[1] as HostOutcome)).toEqual({
      type: 'result',
      host: 'b',
      success: false,
      status: 'failed',
      exitCode: 3,
      signal: null,
    });
    expect(resultEvent(outcomes[2] as HostOutcome)).toMatchObject({
      error: { code: 'CONNECT_FAILED' },
    });
  });
});
