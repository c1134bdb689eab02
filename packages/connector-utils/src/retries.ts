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

/**
 * The one retry policy (the connector arguments `retries` and `retryDelay`): run the
 * command again when it fails (exit code not a success) or times out, up to
 * `retries` more times, `retryDelay` seconds apart (default 0; an abort ends the
 * wait). Never retried: an abort, a lost connection, any other error. A stream given
 * as stdin can be read once only, so retries with one are refused.
 */
export async function runWithRetries(
  command: CommandInput,
  options: Pick<RunShellCommandOptions, 'retries' | 'retryDelay' | 'stdin' | 'signal'>,
  log: Pick<ConnectorLogger, 'info'>,
  run: () => Promise<CommandResult>,
): Promise<CommandResult> {
  const retries = Math.max(0, Math.floor(options.retries ?? 0));
  if (retries > 0 && typeof options.stdin === 'object' && !Buffer.isBuffer(options.stdin)) {
    throw new CommandArgumentError(
      `retries: a stream given as stdin can be read only once, so ${String(toStringCommand(command))} cannot be retried with it. Pass stdin as a string or Buffer.`,
    );
  }
  for (let attempt = 0; ; attempt++) {
    let failure: string;
    try {
      const result = await run();
      if (result.success || attempt >= retries) return result;
      failure = 'failed';
    } catch (error) {
      if (!(error instanceof CommandTimeoutError) || attempt >= retries) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      failure = 'timed out';
    }
    log.info(`${String(toStringCommand(command))} ${failure}; retry ${attempt + 1} of ${retries}`);
    await sleep(options.retryDelay ?? 0, options.signal);
  }
}
