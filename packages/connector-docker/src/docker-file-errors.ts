import { fileFailure } from '@infra/connector-utils';
import { type FileOptions, FileTransferError, InfraError } from '@infra/core';
import { reasonOf } from './docker-errors.js';

/**
 * The error a failed put or get through the archive API rejects with: the shared
 * rule (`fileFailure`: an abort rejects with `signal.reason`, a timeout with a
 * `FileTransferError` caused by the `CommandTimeoutError`, our errors as they are),
 * and an Engine API error in the daemon's own words.
 */
export function fileError(action: string, error: unknown, options: FileOptions): unknown {
  if (options.signal?.aborted || error instanceof InfraError) {
    return fileFailure(action, error, options);
  }
  return new FileTransferError(`${action} failed: ${reasonOf(error)}`, { cause: error });
}
