import { createWriteStream } from 'node:fs';
import { chmod, chown, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  describeFileKind,
  type FileDestination,
  FileTransferError,
  NotRegularFileError,
} from '@infra/core';
import { tempPathBeside } from './file-scripts.js';

/** The mode a new local file gets when none is asked for: 0666 less this process's umask. */
export function defaultFileMode(): number {
  // process.umask() reads by setting and restoring; there is no other way in Node.
  const mask = process.umask();
  return 0o666 & ~mask;
}

/** Why a file system call failed, in words. */
export function describeFsError(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Where downloaded bytes go: `sink`, then `commit()` on success or `discard()` on any failure. */
export interface LocalDestination {
  readonly sink: Writable;
  /** Ends the sink; for a path, gives the temp file its mode and owner and renames it into place. */
  commit(): Promise<void>;
  /** Removes the temp file; the destination keeps its old content, byte for byte. */
  discard(): Promise<void>;
}

/**
 * Open a download's destination: a stream as given (ended on commit), or a local
 * path written through a private temp file (0600) beside it, renamed over it on
 * commit with the asked mode, else the existing file's mode and owner (when root),
 * else `defaultFileMode()`. A failed download leaves the user's old file as it was.
 * A path that exists and is not a regular file is refused (`NotRegularFileError`);
 * a missing directory is a `FileTransferError` naming it.
 */
export async function openLocalDestination(
  dest: FileDestination,
  options: { mode?: number | undefined } = {},
): Promise<LocalDestination> {
  if (typeof dest !== 'string') {
    return {
      sink: dest,
      async commit() {
        dest.end();
        await finished(dest);
      },
      async discard() {},
    };
  }
  const path = resolve(dest);
  const existing = await stat(path).catch(() => undefined);
  if (existing && !existing.isFile()) {
    throw new NotRegularFileError(path, describeFileKind(existing.mode), 'this machine');
  }
  const dir = await stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) {
    throw new FileTransferError(
      `the local directory ${JSON.stringify(dirname(path))} ${dir ? 'is not a directory' : 'does not exist'}: create it first.`,
    );
  }
  const temp = tempPathBeside(path);
  const sink = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  // A sink that fails (disk full) fails the transfer through commit, never the process.
  let sinkError: Error | undefined;
  sink.on('error', (error) => {
    sinkError ??= error;
  });
  const discard = async () => {
    sink.destroy();
    await rm(temp, { force: true });
  };
  return {
    sink,
    async commit() {
      try {
        if (sinkError) throw sinkError;
        sink.end();
        await finished(sink);
        await chmod(temp, options.mode ?? (existing ? existing.mode & 0o7777 : defaultFileMode()));
        if (existing && process.getuid?.() === 0) await chown(temp, existing.uid, existing.gid);
        await rename(temp, path);
      } catch (error) {
        await discard();
        throw error;
      }
    },
    discard,
  };
}

/**
 * Write a stream to a local path through a temp file and rename (see
 * `openLocalDestination`); the temp file is removed on every failure and abort.
 */
export async function writeLocalFile(
  source: Readable | NodeJS.ReadableStream,
  path: string,
  options: { mode?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  let destination: LocalDestination;
  try {
    destination = await openLocalDestination(path, options);
  } catch (error) {
    (source as Readable).destroy?.();
    throw error;
  }
  try {
    await pipeline(source, destination.sink, {
      end: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    await destination.discard();
    throw error;
  }
  await destination.commit();
}
