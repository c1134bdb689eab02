import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { posix, resolve as resolveLocal } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  FileTransferError,
  refuseNonRegularLocalFile,
  timeoutSignal,
  usesBecome,
} from '@infra/core';
import { extractFirstFile } from './docker-archive.js';
import { getAsBecomeUser } from './docker-become-files.js';
import { statusOf } from './docker-errors.js';
import { fileError } from './docker-file-errors.js';
import { containerPath, type DockerHost, type Session } from './docker-session.js';
import { READ_CHUNK } from './sized-source.js';

async function localStatIfExists(path: string): Promise<{ mode: number } | undefined> {
  try {
    const info = await stat(path);
    return { mode: info.mode & 0o7777 };
  } catch {
    return undefined;
  }
}

/**
 * Copy a file out of the container: through the archive API, or as the become
 * user with core's get script. A local path is written through a temp file
 * beside it and renamed over it at the end.
 */
export async function getFileFromContainer(
  host: DockerHost,
  session: Session,
  remotePath: string,
  dest: FileDestination,
  options: FileOptions,
): Promise<void> {
  if (options.signal?.aborted) throw options.signal.reason;
  const src = containerPath(session, remotePath);
  const action = `getFile ${JSON.stringify(src)} in container ${session.containerName} -> ${describeFileEnd(dest)}`;

  let sink: Writable;
  let tempPath: string | undefined;
  let localDest: string | undefined;
  if (typeof dest === 'string') {
    localDest = resolveLocal(dest);
    tempPath = `${localDest}.infra-${randomBytes(6).toString('hex')}.tmp`;
    try {
      await refuseNonRegularLocalFile(localDest);
      sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o600, highWaterMark: READ_CHUNK });
      await new Promise<void>((resolveOpen, rejectOpen) => {
        sink.once('open', () => resolveOpen());
        sink.once('error', rejectOpen);
      });
      // A later write error comes out of `finished(sink)` below.
      sink.on('error', () => {});
    } catch (error) {
      throw fileError(action, error, options);
    }
  } else {
    sink = dest;
  }

  try {
    if (usesBecome(options)) {
      await getAsBecomeUser(host, session, src, sink, action, options);
    } else {
      await getThroughArchive(session, src, sink, action, timeoutSignal(options));
    }
    if (tempPath !== undefined && localDest !== undefined) {
      sink.end();
      await finished(sink);
      const existing = await localStatIfExists(localDest);
      await chmod(tempPath, options.mode ?? existing?.mode ?? 0o644);
      await rename(tempPath, localDest);
    }
  } catch (error) {
    if (tempPath !== undefined) {
      sink.destroy();
      await rm(tempPath, { force: true });
    }
    throw fileError(action, error, options);
  }
}

/** `getArchive`, following symbolic links (as `cat` would) up to 16 deep. */
async function getThroughArchive(
  session: Session,
  path: string,
  sink: Writable,
  action: string,
  signal: AbortSignal | undefined,
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
