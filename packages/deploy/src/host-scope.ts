import { AsyncLocalStorage } from 'node:async_hooks';
import { InfraError } from '@infra/core';
import { errorMessage, RunStoppedError } from './errors.js';

/**
 * An error that escaped deploy code: a promise rejection nobody awaited, or a
 * throw in a timer or event callback. It fails the host whose code raised it.
 */
export class StrayDeployError extends InfraError {
  constructor(error: unknown, where: string) {
    super(
      'DEPLOY_STRAY_ERROR',
      `${where} raised an error nothing was waiting for (an unhandled promise rejection, or a throw in a callback): ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

interface HostScope {
  readonly host: string;
  /** Fail the host's work in progress; false when it is over (the error is then the run's). */
  fail(error: StrayDeployError): boolean;
}

/** Which host's task (or connect) the code running now belongs to: it follows timers and promises. */
const scopes = new AsyncLocalStorage<HostScope>();

/**
 * For a process's `unhandledRejection` / `uncaughtException` handler: fail the
 * host whose code raised `error` (its commands are killed and the run goes on)
 * and return its name; undefined when no running host's code raised it.
 */
export function failHostOfStrayError(error: unknown): string | undefined {
  const scope = scopes.getStore();
  if (!scope) return undefined;
  return scope.fail(new StrayDeployError(error, `The deploy code of ${scope.host}`))
    ? scope.host
    : undefined;
}

/**
 * Run a host's step (connect, a pass of its task) in its scope: a stray error it
 * causes while it runs ends it at once (rejecting with the `StrayDeployError`),
 * as does `kill` (with `RunStoppedError`). `onStray` runs first (to stop the
 * host's commands).
 */
export function runHostStep<T>(
  host: string,
  step: () => Promise<T>,
  kill: AbortSignal,
  onStray: (error: StrayDeployError) => void = () => {},
  whenIdle: () => Promise<void> = () => Promise.resolve(),
): Promise<T> {
  const stray = new AbortController();
  let running = true;
  const scope: HostScope = {
    host,
    fail(error) {
      if (!running || stray.signal.aborted) return running;
      onStray(error);
      stray.abort(error);
      return true;
    },
  };
  return untilStopped(
    scopes.run(scope, async () => step()),
    {
      stray: stray.signal,
      kill,
      whenIdle,
    },
  ).finally(() => {
    running = false;
  });
}

/**
 * `work`, unless a signal aborts first: `stray` (the host's stray error, its
 * reason, wins over whatever `work` does after it) or `kill` (a hard stop:
 * `RunStoppedError`, unless `work` ends first). Either waits for `whenIdle` (the
 * killed operations have ended and are recorded), then stops waiting for deploy
 * code that may never end. `work`'s own later failure is dropped.
 */
export function untilStopped<T>(
  work: Promise<T>,
  signals: {
    readonly stray: AbortSignal;
    readonly kill: AbortSignal;
    readonly whenIdle: () => Promise<void>;
  },
): Promise<T> {
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      signals.stray.removeEventListener('abort', onStray);
      signals.kill.removeEventListener('abort', onKill);
      settle();
    };
    const onStray = () => {
      void signals.whenIdle().then(() => finish(() => reject(signals.stray.reason)));
    };
    const onKill = () => {
      const reason = String(signals.kill.reason ?? 'killed');
      void signals
        .whenIdle()
        .then(() => finish(() => reject(new RunStoppedError(reason, { killed: true }))));
    };
    if (signals.stray.aborted) onStray();
    else signals.stray.addEventListener('abort', onStray, { once: true });
    if (signals.kill.aborted) onKill();
    else signals.kill.addEventListener('abort', onKill, { once: true });
    work.then(
      (value) => {
        if (!signals.stray.aborted) finish(() => resolve(value));
      },
      (error: unknown) => {
        if (!signals.stray.aborted) finish(() => reject(error));
      },
    );
  });
}
