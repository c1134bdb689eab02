import { CommandTimeoutError, type FileOptions, FileTransferError, InfraError } from '@infra/core';
import { ContainerStoppedError, reasonOf } from './docker-errors.js';

/**
 * The error a failed put or get rejects with: ours as they are, a timeout as a
 * `FileTransferError` saying so, an abort as the signal's reason, anything else
 * as a `FileTransferError` naming the transfer.
 */
export function fileError(action: string, error: unknown, options: FileOptions): unknown {
  if (error instanceof FileTransferError || error instanceof ContainerStoppedError) return error;
  if (error instanceof CommandTimeoutError) {
    return new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
      cause: error,
    });
  }
  if (error instanceof InfraError) return error;
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    if (options.signal?.aborted) return options.signal.reason ?? error;
    if (options.timeout !== undefined) {
      return new FileTransferError(`${action} failed: timed out after ${options.timeout}s.`, {
        cause: error,
      });
    }
  }
  return new FileTransferError(`${action} failed: ${reasonOf(error)}`, { cause: error });
}
