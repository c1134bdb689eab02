import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { openLocalDestination, runStoppable } from '@infra/connector-utils';
import {
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  FileTransferError,
} from '@infra/core';
import { extractFirstFile } from './docker-archive.js';
import { statusOf } from './docker-errors.js';
import { fileError } from './docker-file-errors.js';
import { containerPath, type Session } from './docker-session.js';

/**
 * Copy a file out of the container through the archive API (a get as a become
 * user goes through the shared layer instead), into the shared local destination:
 * a local path is written through a temp file beside it and renamed over it at
 * the end, so a failed get leaves the old file as it was.
 */
export async function getFileFromContainer(
  session: Session,
  remotePath: string,
  dest: FileDestination,
  options: FileOptions,
): Promise<void> {
  if (options.signal?.aborted) throw options.signal.reason;
  const src = containerPath(session, remotePath);
  const action = `getFile ${JSON.stringify(src)} in container ${session.containerName} -> ${describeFileEnd(dest)}`;
  const destination = await openLocalDestination(dest, { mode: options.mode }).catch(
    (error: unknown) => {
      throw fileError(action, error, options);
    },
  );
  try {
    await runStoppable(
      { shownCommand: action, timeout: options.timeout, signal: options.signal },
      (stop) => getThroughArchive(session, src, destination.sink, action, stop),
    );
    await destination.commit();
  } catch (error) {
    await destination.discard();
    throw fileError(action, error, options);
  }
}

/** `getArchive`, following symbolic links (as `cat` would) up to 16 deep. */
async function getThroughArchive(
  session: Session,
  path: string,
  sink: Writable,
  action: string,
  signal: AbortSignal,
): Promise<void> {
  let current = path;
  for (let depth = 0; depth < 16; depth++) {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await session.container.getArchive({ path: current, abortSignal: signal });
    } catch (error) {
      if (statusOf(error) === 404) {
        throw new FileTransferError(
          `${action} failed: ${JSON.stringify(current)} does not exist in the container.`,
          { cause: error },
        );
      }
      throw error;
    }
    const entry = await extractFirstFile(archive as Readable, sink);
    if (entry.type === 'file') return;
    if (entry.type === 'symlink') {
      current = posix.resolve(posix.dirname(current), entry.linkTarget);
      continue;
    }
    throw new FileTransferError(
      `${action} failed: ${JSON.stringify(current)} is ${entry.type === 'directory' ? 'a directory' : 'not a regular file'}.`,
    );
  }
  throw new FileTransferError(`${action} failed: too many levels of symbolic links.`);
}
