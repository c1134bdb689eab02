import { type CommandInput, toStringCommand } from './command.js';
import type { ConnectorLogger, RunShellCommandOptions } from './connector.js';
import { CommandTimeoutError } from './errors.js';
import type { CommandResult } from './output.js';
import { sleep } from './timing.js';
import { CommandArgumentError } from './unix-command.js';

/**
 * The connector arguments `retries` and `retryDelay`: run the command again when it
 * fails or times out, up to `retries` more times, `retryDelay` seconds apart (an
 * abort ends the wait). Other errors (a lost connection) are never retried here.
 * A stream given as stdin can be read once only, so retries with one are refused.

 *
 * @deprecated Moved to `@infra/connector-utils` (`runWithRetries`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export async function runWithRetries(
  command: CommandInput,
  options: Pick<RunShellCommandOptions, 'retries' | 'retryDelay' | 'stdin' | 'signal'>,
  log: ConnectorLogger,
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
      failure = 'timed out';
    }
    log.info(`${String(toStringCommand(command))} ${failure}; retry ${attempt + 1} of ${retries}`);
    await sleep(options.retryDelay ?? 0, options.signal);
  }
}
