import {
  CommandArgumentError,
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  type ConnectorLogger,
  type RunShellCommandOptions,
  toStringCommand,
} from '@infra/core';
import { sleep } from './timing.js';

/** pyinfra's `_retries` default: a failure is not tried again unless asked. */
export const DEFAULT_RETRIES = 0;
/** pyinfra's `_retry_delay` default: seconds between two attempts. */
export const DEFAULT_RETRY_DELAY = 5;

export interface RetryOptions {
  /** More attempts after the first (default `DEFAULT_RETRIES`, 0). */
  readonly retries?: number | undefined;
  /** Seconds between attempts (default `DEFAULT_RETRY_DELAY`, 5). */
  readonly retryDelay?: number | undefined;
  /** An abort ends the wait between attempts (rejecting with `signal.reason`) and is never retried. */
  readonly signal?: AbortSignal | undefined;
}

/** Why an attempt is tried again, as said in the log line. */
export type RetryReason = 'failed' | 'timed out';

/**
 * The one retry policy, of the connector arguments `retries` / `retryDelay` and of
 * deploy's `_retries` / `_retryDelay` alike (pyinfra's, with its defaults: 0 retries,
 * 5 seconds apart). Retried: an attempt whose result `failed` says failed (a command
 * whose exit code is not a success) and an attempt that throws `CommandTimeoutError`.
 * Never retried: an abort, a lost connection, any other error. Up to `retries` more
 * attempts, `retryDelay` seconds apart; the last attempt's result or error is the
 * answer. `onRetry` is told before each wait.
 */
export async function withRetries<T>(
  options: RetryOptions,
  attempt: () => Promise<T>,
  failed: (result: T) => boolean,
  onRetry: (reason: RetryReason, retry: number, retries: number) => void = () => {},
): Promise<T> {
  const retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
  const delay = options.retryDelay ?? DEFAULT_RETRY_DELAY;
  for (let done = 0; ; done++) {
    let reason: RetryReason;
    try {
      const result = await attempt();
      if (!failed(result) || done >= retries) return result;
      reason = 'failed';
    } catch (error) {
      if (!(error instanceof CommandTimeoutError) || done >= retries) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      reason = 'timed out';
    }
    onRetry(reason, done + 1, retries);
    await sleep(delay, options.signal);
  }
}

/**
 * `withRetries` for one shell command of a connector: its `retries` / `retryDelay`,
 * a result that is no success retried, each retry logged. A stream given as stdin can
 * be read once only, so retries with one are refused.
 */
export async function runWithRetries(
  command: CommandInput,
  options: Pick<RunShellCommandOptions, 'retries' | 'retryDelay' | 'stdin' | 'signal'>,
  log: Pick<ConnectorLogger, 'info'>,
  run: () => Promise<CommandResult>,
): Promise<CommandResult> {
  const retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
  if (retries === 0) return run();
  if (typeof options.stdin === 'object' && !Buffer.isBuffer(options.stdin)) {
    throw new CommandArgumentError(
      `retries: a stream given as stdin can be read only once, so ${String(toStringCommand(command))} cannot be retried with it. Pass stdin as a string or Buffer.`,
    );
  }
  return withRetries(
    options,
    run,
    (result) => !result.success,
    (reason, retry) =>
      log.info(`${String(toStringCommand(command))} ${reason}; retry ${retry} of ${retries}`),
  );
}
