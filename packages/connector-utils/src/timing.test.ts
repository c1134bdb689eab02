import { CommandTimeoutError } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { runStoppable, settlesWithin, sleep, untilAborted } from './timing.js';

describe('runStoppable', () => {
  it('rejects an abort with signal.reason once the work has stopped', async () => {
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');
    let stopped = false;
    const run = runStoppable({ shownCommand: 'x', signal: controller.signal }, (stop) => {
      const done = new Promise<string>((resolve) =>
        stop.addEventListener('abort', () => {
          stopped = true;
          resolve('finished anyway');
        }),
      );
      controller.abort(reason);
      return done;
    });
    await expect(run).rejects.toBe(reason);
    expect(stopped).toBe(true);
  });

  it('rejects a timeout with a CommandTimeoutError naming the command', async () => {
    const run = runStoppable({ shownCommand: 'sleep 9', timeout: 0.05 }, (stop) => {
      return new Promise((_, reject) =>
        stop.addEventListener('abort', () => reject(new Error('killed'))),
      );
    });
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).message).toContain('sleep 9');
  });

  it('passes a result and an error through when nothing stops it', async () => {
    expect(await runStoppable({ shownCommand: 'x', timeout: 5 }, async () => 42)).toBe(42);
    const own = new Error('own');
    await expect(runStoppable({ shownCommand: 'x' }, () => Promise.reject(own))).rejects.toBe(own);
  });
});

describe('sleep', () => {
  it('takes seconds and ends early with the abort reason', async () => {
    const controller = new AbortController();
    const waiting = sleep(60, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(sleep(0)).resolves.toBeUndefined();
  });
});

describe('untilAborted', () => {
  it('settles as the promise does while the signal has not fired, or without one', async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.resolve(8), undefined)).resolves.toBe(8);
    const failure = new Error('failed');
    await expect(untilAborted(Promise.reject(failure), signal)).rejects.toBe(failure);
  });

  it('rejects with the reason when the signal fires first; the late outcome goes nowhere', async () => {
    const controller = new AbortController();
    let fail: (error: Error) => void = () => {};
    const shared = new Promise<number>((_resolve, reject) => {
      fail = reject;
    });
    const waiting = untilAborted(shared, controller.signal);
    const reason = new Error('stopped');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // The shared work fails later: no unhandled rejection through this wait.
    fail(new Error('late'));
    await expect(shared).rejects.toThrow('late');
  });

  it('rejects at once with the reason of a signal that fired already', async () => {
    const controller = new AbortController();
    const reason = new Error('before');
    controller.abort(reason);
    await expect(untilAborted(new Promise(() => {}), controller.signal)).rejects.toBe(reason);
  });

  it('leaves no unhandled rejection when the signal fired already and the promise fails later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const controller = new AbortController();
      controller.abort(new Error('before'));
      let fail: (error: Error) => void = () => {};
      const shared = new Promise<number>((_resolve, reject) => {
        fail = reject;
      });
      await expect(untilAborted(shared, controller.signal)).rejects.toThrow('before');
      fail(new Error('late'));
      // Node reports unhandled rejections once the microtasks of a tick have run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('settlesWithin', () => {
  it('is true when the promise settles in time, either way, and false when it does not', async () => {
    await expect(settlesWithin(Promise.resolve(1), 5)).resolves.toBe(true);
    await expect(settlesWithin(Promise.reject(new Error('refused')), 5)).resolves.toBe(true);
    await expect(settlesWithin(new Promise(() => {}), 0.01)).resolves.toBe(false);
  });
});
