import { setMaxListeners } from 'node:events';
import { CommandTimeoutError } from '@infra/core';

/**
 * Wait `seconds` (the unit of every connector argument: `timeout`, `retryDelay`).
 * An abort of `signal` ends the wait by rejecting with the signal's reason.
 */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!(seconds > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, seconds * 1000);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * True once `promise` settles (either way) within `seconds`, false when the time
 * runs out first; never rejects. For a bounded wait on cleanup, where only
 * whether it came matters.
 */
export function settlesWithin(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), seconds * 1000);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/**
 * Settle as `promise` does, or reject with the signal's reason as soon as it
 * aborts (at once when it has already). The work behind `promise` goes on: for
 * waits on something others share (a helper process, a channel slot, a cached
 * answer), which a stopped call stops waiting for but must not cancel.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // Nobody waits for its outcome through here: a later failure must not go unhandled.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * One signal for "the caller aborted or `timeout` seconds passed" (a `TimeoutError`
 * reason for the latter); undefined when there is neither.
 */
export function timeoutSignal(options: {
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}): AbortSignal | undefined {
  const timeout =
    options.timeout !== undefined && options.timeout > 0
      ? AbortSignal.timeout(options.timeout * 1000)
      : undefined;
  if (timeout && options.signal) return AbortSignal.any([timeout, options.signal]);
  return timeout ?? options.signal;
}

/**
 * A signal that never fires. Every running command may listen to it at once (and
 * stops listening when done): no limit on its listeners.
 */
const NEVER = new AbortController().signal;
setMaxListeners(0, NEVER);

export interface StopOptions {
  /** The command as shown in messages (masked), named by the `CommandTimeoutError`. */
  shownCommand: string;
  /** Seconds before the work is stopped with a `CommandTimeoutError`. */
  timeout?: number | undefined;
  /** The caller's abort: the work is stopped and the call rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /**
   * Runs on a stop before the work's signal fires (its failure is ignored): e.g.
   * the kill of a become command's processes while its transport still holds them.
   */
  beforeStop?: (() => Promise<void>) | undefined;
}

/**
 * The one abort/timeout rule of every connector: `work` gets a signal that fires when
 * the caller aborts or `timeout` seconds pass; it must then stop what it runs (kill
 * the process, close the channel) and settle. Whatever it settles with, the call
 * then rejects with the caller's `signal.reason` (an abort) or a
 * `CommandTimeoutError` naming the command (a timeout). Waiting for `work` to
 * settle means the command is gone when the call rejects.
 */
export async function runStoppable<T>(
  options: StopOptions,
  work: (stop: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) throw signal.reason;
  const seconds = options.timeout;
  // Nothing can stop it: the work gets a signal that never fires (the hot path of a command).
  if (!signal && !(seconds !== undefined && seconds > 0)) return work(NEVER);
  const controller = new AbortController();
  let reason: { error: unknown } | undefined;
  const stop = (error: unknown) => {
    if (reason) return;
    reason = { error };
    if (!options.beforeStop) {
      controller.abort(error);
      return;
    }
    options
      .beforeStop()
      .catch(() => undefined)
      .then(() => controller.abort(error));
  };
  const onAbort = () => stop(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    seconds !== undefined && seconds > 0
      ? setTimeout(
          () => stop(new CommandTimeoutError(options.shownCommand, seconds)),
          seconds * 1000,
        )
      : undefined;
  try {
    const result = await work(controller.signal).catch((error: unknown) => {
      if (reason) throw reason.error;
      throw error;
    });
    if (reason) throw reason.error;
    return result;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
