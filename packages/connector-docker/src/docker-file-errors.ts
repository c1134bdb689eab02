import { CommandTimeoutError, type FileOptions, FileTransferError, InfraError } from '@infra/core';
import { reasonOf } from './docker-errors.js';

/**
 * The error a failed put or get rejects with, by the rule every connector follows:
 * an abort rejects with the caller's `signal.reason`; a timeout with a
 * `FileTransferError` saying "timed out after Ns" whose cause is the
 * `CommandTimeoutError`; our own errors as they are; anything else as a
 * `FileTransferError` naming the transfer.
 */
export function fileError(action: string, error: unknown, options: FileOptions): unknown {
  if (options.signal?.aborted) return options.signal.reason;
  if (error instanceof CommandTimeoutError) {
    return new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
      cause: error,
    });
  }
  if (error instanceof InfraError) return error;
  const name = (error as Error | undefined)?.name;
  if ((name === 'TimeoutError' || name === 'AbortError') && options.timeout !== undefined) {
    // The archive API's requests stop on a timeout signal: say so as a command would.
    return new FileTransferError(`${action} failed: timed out after ${options.timeout}s.`, {
      cause: new CommandTimeoutError(action, options.timeout),
    });
  }
  return new FileTransferError(`${action} failed: ${reasonOf(error)}`, { cause: error });
}
