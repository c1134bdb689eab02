import { type CommandRequest, RunningCommand } from './command-runner.js';
import { HttpError } from './request-body.js';

/** Why a command did not start, saying that it did not run. */
export function notStartedMessage(error: unknown): string {
  return `The command did not run: /bin/sh could not be started (${(error as Error)?.message ?? error}).`;
}

/** Start a command; one that cannot start at once (E2BIG, ...) is an HTTP error saying it did not run. */
export function startCommand(request: CommandRequest): RunningCommand {
  try {
    return new RunningCommand(request);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'E2BIG') {
      throw new HttpError(
        400,
        `The command did not run: at ${Buffer.byteLength(request.command)} bytes (with its environment) it is too long for this system to start (E2BIG; Linux takes at most 128 KiB in one argument). Send a long script on stdin (exec-stdin) instead.`,
      );
    }
    throw new HttpError(500, notStartedMessage(error));
  }
}
