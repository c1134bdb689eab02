import { describe, expect, it } from 'vitest';
import { untilStopped } from './until-stopped.js';

describe('untilStopped', () => {
  it('settles as the promise does while the signal has not fired', async () => {
    const signal = new AbortController().signal;
    await expect(untilStopped(Promise.resolve(7), signal)).resolves.toBe(7);
    const failure = new Error('failed');
    await expect(untilStopped(Promise.reject(failure), signal)).rejects.toBe(failure);
  });

  it('rejects with the reason when the signal fires first, and the late outcome goes nowhere', async () => {
    const controller = new AbortController();
    let fail: (error: Error) => void = () => {};
    const shared = new Promise<number>((_resolve, reject) => {
      fail = reject;
    });
    const waiting = untilStopped(shared, controller.signal);
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
    await expect(untilStopped(new Promise(() => {}), controller.signal)).rejects.toBe(reason);
  });
});
