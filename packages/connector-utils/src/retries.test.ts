import { CommandOutput, type CommandResult, CommandTimeoutError, sh } from '@infra/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_DELAY, runWithRetries, withRetries } from './retries.js';

const failedOnce = () => {
  let calls = 0;
  return {
    calls: () => calls,
    attempt: async () => ++calls >= 2,
  };
};

describe('withRetries (the one retry policy)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('has pyinfra defaults: no retries, and 5 seconds between attempts when asked to retry', async () => {
    expect(DEFAULT_RETRY_DELAY).toBe(5);
    const once = failedOnce();
    expect(await withRetries({}, once.attempt, (ok) => !ok)).toBe(false);
    expect(once.calls()).toBe(1);

    vi.useFakeTimers();
    const twice = failedOnce();
    const result = withRetries({ retries: 1 }, twice.attempt, (ok) => !ok);
    await vi.advanceTimersByTimeAsync(4999);
    expect(twice.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toBe(true);
    expect(twice.calls()).toBe(2);
  });

  it('retries a timeout, and never another error', async () => {
    let calls = 0;
    const timesOutOnce = async () => {
      if (++calls === 1) throw new CommandTimeoutError('sleep 30', 1);
      return 'done';
    };
    expect(await withRetries({ retries: 1, retryDelay: 0 }, timesOutOnce, () => false)).toBe(
      'done',
    );
    expect(calls).toBe(2);

    calls = 0;
    const lost = new Error('connection lost');
    const loses = async () => {
      calls++;
      throw lost;
    };
    await expect(withRetries({ retries: 3, retryDelay: 0 }, loses, () => false)).rejects.toBe(lost);
    expect(calls).toBe(1);
  });

  it('an abort ends the wait between attempts with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopped');
    const reasons: string[] = [];
    const waiting = withRetries(
      { retries: 3, retryDelay: 60, signal: controller.signal },
      async () => false,
      (ok) => !ok,
      (why) => {
        reasons.push(why);
        controller.abort(reason);
      },
    );
    await expect(waiting).rejects.toBe(reason);
    expect(reasons).toEqual(['failed']);
  });
});

describe('runWithRetries', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits retryDelay seconds, 5 by default (pyinfra), between runs of a connector command', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const running = runWithRetries(sh`false`, { retries: 1 }, { info: () => {} }, async () => {
      calls++;
      return { success: calls > 1, output: new CommandOutput([], calls > 1 ? 0 : 1) };
    });
    await vi.advanceTimersByTimeAsync(4999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await running).success).toBe(true);
    expect(calls).toBe(2);
  });

  it('logs each retry of a failed command and answers the last result', async () => {
    const lines: string[] = [];
    let calls = 0;
    const result = await runWithRetries(
      sh`false`,
      { retries: 2, retryDelay: 0 },
      { info: (line) => lines.push(line) },
      async (): Promise<CommandResult> => {
        calls++;
        return { success: false, output: new CommandOutput([], 1) };
      },
    );
    expect(result.success).toBe(false);
    expect(calls).toBe(3);
    expect(lines).toEqual(['false failed; retry 1 of 2', 'false failed; retry 2 of 2']);
  });
});
