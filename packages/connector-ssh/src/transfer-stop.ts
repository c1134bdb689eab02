import type { Readable } from 'node:stream';
import type { FileOptions, FileSource } from '@infra/core';
import { openFileSource } from '@infra/core';
import type { SftpSession } from './sftp-session.js';
import { readFileChunks, sftpRequestSize } from './sftp-transfer.js';

/** The source's bytes; a local file is read in chunks of one SFTP WRITE request each, into reused buffers. */
export function openSource(
  session: SftpSession,
  src: FileSource,
): Readable | AsyncIterable<Buffer> {
  if (typeof src !== 'string') return openFileSource(src);
  return readFileChunks(src, sftpRequestSize(session, 'write'));
}

/** One signal for a transfer: the caller's `signal` or the `timeout`, whichever comes first. */
export interface TransferStop {
  readonly signal: AbortSignal | undefined;
  dispose(): void;
}

export function transferStop(options: FileOptions): TransferStop {
  const timeout = options.timeout !== undefined && options.timeout > 0 ? options.timeout : 0;
  if (timeout === 0 && !options.signal) return { signal: undefined, dispose: () => {} };
  const controller = new AbortController();
  const caller = options.signal;
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeout > 0
      ? setTimeout(() => controller.abort(new Error(`timed out after ${timeout}s`)), timeout * 1000)
      : undefined;
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}
