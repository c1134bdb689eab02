import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  describeFileKind,
  type FileDestination,
  type FileSource,
  FileTransferError,
  NotRegularFileError,
  openFileSource,
} from '@infra/core';

/** A fresh, hidden name in the same directory, so a `rename` onto the target is atomic. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.infra-${randomBytes(8).toString('hex')}.tmp`);
}

/** The mode a new file gets when none is asked for: 0666 less this process's umask. */
export function defaultFileMode(): number {
  // process.umask() reads by setting and restoring; there is no other way in Node.
  const mask = process.umask();
  return 0o666 & ~mask;
}

/** Why a file system call failed, in words (the code and the message's gist). */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
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

export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  /** What it is: `a regular file`, `a directory`, `a character device`... */
  kind: string;
}

/** The mode and owner of an existing file, or undefined when there is none (or it cannot be seen). */
export async function statIfExists(path: string): Promise<FileStat | undefined> {
  try {
    const found = await stat(path);
    return {
      mode: found.mode & 0o7777,
      uid: found.uid,
      gid: found.gid,
      kind: describeFileKind(found.mode),
    };
  } catch {
    return undefined;
  }
}

/**
 * Make sure the directory a file goes into exists: create it with
 * `createParents`, else a `FileTransferError` naming it.
 * Returns false when the directory cannot be looked at (permission denied), so a
 * become user can try.
 */
export async function ensureParentDirectory(
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

/** Create a directory and its parents. */
export async function makeDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export interface AtomicWriteOptions {
  /** The final mode; when undefined, the existing file's mode, else `defaultFileMode()`. */
  mode?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Write a stream to `path` atomically: a private temp file (0600) beside it,
 * then chmod, the old owner back when we are root, and rename. The temp file
 * is removed when anything fails.
 */
export async function writeFileAtomically(
  source: Readable | NodeJS.ReadableStream,
  path: string,
  options: AtomicWriteOptions,
): Promise<void> {
  const existing = await statIfExists(path);
  // Renaming over a device, pipe or socket would replace it; over a directory, fail late.
  if (existing && existing.kind !== 'a regular file') {
    throw new NotRegularFileError(path, existing.kind);
  }
  const temp = tempPathBeside(path);
  try {
    await pipeline(
      source,
      createWriteStream(temp, { flags: 'wx', mode: 0o600 }),
      options.signal ? { signal: options.signal } : {},
    );
    await chmod(temp, options.mode ?? existing?.mode ?? defaultFileMode());
    if (existing && process.getuid?.() === 0) await chown(temp, existing.uid, existing.gid);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Put a local file source (path, Buffer or stream) at `path`, atomically. */
export async function putFileAsCurrentUser(
  src: FileSource,
  path: string,
  options: AtomicWriteOptions,
): Promise<void> {
  let source: Readable;
  if (typeof src === 'string') {
    // Open first, so a missing source fails before any temp file exists.
    const handle = await open(src, 'r');
    source = handle.createReadStream();
  } else {
    source = openFileSource(src);
  }
  await writeFileAtomically(source, path, options);
}

/** Copy `path` to a local path (atomically) or into a stream (which is ended). */
export async function getFileAsCurrentUser(
  path: string,
  dest: FileDestination,
  options: AtomicWriteOptions,
): Promise<void> {
  const handle = await open(path, 'r');
  const source = handle.createReadStream();
  if (typeof dest === 'string') {
    await writeFileAtomically(source, dest, options);
    return;
  }
  await pipeline(source, dest as Writable, options.signal ? { signal: options.signal } : {});
}
