// `_retries` / `_retryDelay` of a deploy follow the one retry policy of
// @infra/connector-utils (what the connector arguments `retries` / `retryDelay` use):
// a failed or a timed-out command is run again, an abort never.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployFunction, defineOperation } from '../src/index.js';
import { localHost, run, statuses } from './hosts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-retries-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A command that hangs on its first run only: the counter file says which run it is. */
const hangsOnce = defineOperation<{ counter: string }, 'test.hangsOnce'>({
  name: 'test.hangsOnce',
  description: 'Hangs on its first attempt, succeeds on the next.',
  argNames: ['counter'],
  label: () => 'test.hangsOnce',
  plan: async (_context, { counter }) => ({
    steps: [
      {
        kind: 'command',
        command: sh`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 2 ] || sleep 30`,
      },
    ],
  }),
});

describe('_retries in a deploy', () => {
  it('retries a command that timed out (it did not before)', async () => {
    const counter = join(dir, 'timeout-count');
    const fn: DeployFunction = async ({ run }) => {
      await run(hangsOnce, { counter, _timeout: 0.5, _retries: 1, _retryDelay: 0 });
    };
    const outcome = await run(fn, [localHost('@local')]);
    expect(outcome.failedHosts).toEqual(new Map());
    expect(statuses(outcome.executed)).toEqual(['test.hangsOnce:changed']);
    expect(await readFile(counter, 'utf8')).toBe('2\n');
  });

  it('without _retries a timeout fails the operation at once', async () => {
    const counter = join(dir, 'no-retry-count');
    const fn: DeployFunction = async ({ run }) => {
      await run(hangsOnce, { counter, _timeout: 0.5 });
    };
    const outcome = await run(fn, [localHost('@local')]);
    expect([...outcome.failedHosts.keys()]).toEqual(['@local']);
    expect(await readFile(counter, 'utf8')).toBe('1\n');
  });
});
