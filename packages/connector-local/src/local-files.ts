import { mkdir, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeFsError, writeLocalFile } from '@infra/connector-utils';
import {
  type FileDestination,
  type FileSource,
  FileTransferError,
  openFileSource,
} from '@infra/core';

/**
 * Make sure the directory a file goes into exists: with `createParents` a missing
 * one is left for the put to create; without, a `FileTransferError` naming it.
 * Returns false when the directory is missing or cannot be looked at (permission
 * denied), so the put creates it, or a become user can try.
 */
export async function prepareLocalPut(
  path: string,
  createParents: boolean,
  action: string,
): Promise<boolean> {
  const dir = dirname(path);
  try {
    const found = await stat(dir);
    if (!found.isDirectory()) {
      throw new FileTransferError(
        `${action} failed: ${JSON.stringify(dir)} is not a directory, so ${JSON.stringify(basename(path))} cannot be created in it.`,
      );
    }
    return true;
  } catch (error) {
    if (error instanceof FileTransferError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && createParents) return false;
    if (code === 'ENOENT') {
      throw new FileTransferError(
        `${action} failed: the directory ${JSON.stringify(dir)} does not exist. Create it first, or pass createParents: true.`,
        { cause: error },
      );
    }
    if (code === 'EACCES' || code === 'EPERM') return false;
    throw new FileTransferError(
      `${action} failed: ${JSON.stringify(dir)}: ${describeFsError(error)}.`,
      {
        cause: error,
      },
    );
  }
}

export interface LocalWriteOptions {
  mode?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Put a file source (path, Buffer or stream) at `path` through a temp file and rename. */
export async function putFileAsCurrentUser(
  src: FileSource,
  path: string,
  options: LocalWriteOptions,
): Promise<void> {
  // Open first, so a missing source fails before any temp file exists.
  const source: Readable =
    typeof src === 'string' ? (await open(src, 'r')).createReadStream() : openFileSource(src);
  await mkdir(dirname(path), { recursive: true });
  await writeLocalFile(source, path, options);
}

/** Copy `path` to a local path (temp file and rename) or into a stream (which is ended). */
export async function getFileAsCurrentUser(
  path: string,
  dest: FileDestination,
  options: LocalWriteOptions,
): Promise<void> {
  const source = (await open(path, 'r')).createReadStream();
  if (typeof dest === 'string') {
    await writeLocalFile(source, dest, options);
    return;
  }
  await pipeline(source, dest as Writable, options.signal ? { signal: options.signal } : {});
}
