import { randomBytes } from 'node:crypto';
import { constants, type ReadStream, type Stats } from 'node:fs';
import { chown, type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HttpError } from './request-body.js';
import type { TempJournal } from './temp-journal.js';

/** A file system error as an HTTP answer that names the path. */
export function fileError(error: unknown, path: string, action: 'read' | 'write'): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new HttpError(
        404,
        action === 'read'
          ? `No such file: ${path}.`
          : `Cannot write ${path}: its directory ${dirname(path)} does not exist.`,
      );
    case 'EACCES':
    case 'EPERM':
      return new HttpError(
        403,
        `Permission denied to ${action} ${path}: the agent runs as uid ${process.getuid?.() ?? '?'}.`,
      );
    case 'EISDIR':
      return new HttpError(409, `Cannot ${action} ${path}: it is a directory.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError(507, `Cannot write ${path}: no space left on the device.`);
    case 'EROFS':
      return new HttpError(409, `Cannot write ${path}: read-only file system.`);
    default:
      return new HttpError(500, `Cannot ${action} ${path}: ${(error as Error).message}`);
  }
}

/**
 * Write a file atomically: a temp file beside it, then `rename` over the old one,
 * so readers see the old content or the new, never half. An existing file's mode
 * (and owner, when running as root) is kept; a new one gets 0666 less the umask.
 */
export async function writeFileAtomic(
  path: string,
  content: Buffer | AsyncIterable<Buffer>,
  journal?: TempJournal,
): Promise<number> {
  let existing: Stats | undefined;
  try {
    existing = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(error, path, 'write');
  }
  if (existing && !existing.isFile()) throw notRegularFile(path, existing, 'write');

  const temp = join(
    dirname(path),
    `.${basename(path)}.infra-agent-${randomBytes(6).toString('hex')}`,
  );
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  // Noted first, so an agent killed mid-write leaves the next one a way to find it.
  const forget = await journal?.note(temp);
  try {
    handle = await open(temp, 'wx', existing ? existing.mode & 0o7777 : 0o666);
    let size = 0;
    if (Buffer.isBuffer(content)) {
      await handle.writeFile(content);
      size = content.length;
    } else {
      for await (const chunk of content) {
        await handle.write(chunk);
        size += chunk.length;
      }
    }
    if (existing) {
      await handle.chmod(existing.mode & 0o7777);
      if (process.getuid?.() === 0) await chown(temp, existing.uid, existing.gid);
    }
    await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    return size;
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw fileError(error, path, 'write');
  } finally {
    await forget?.();
  }
}

/** What a file of this `st_mode` is, in words, for a refusal. */
function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The answer for a path that is not a regular file: only regular files are read or replaced. */
export function notRegularFile(path: string, info: Stats, action: 'read' | 'write'): HttpError {
  return new HttpError(
    409,
    `Cannot ${action} ${path}: it is ${kindOf(info)}, not a regular file. The agent ${action === 'read' ? 'reads' : 'replaces'} only regular files.`,
  );
}

/**
 * Open a regular file for reading. Anything else (a device such as /dev/zero, a
 * named pipe, a socket, a directory) is refused: it may never end, or block.
 * The file is opened non-blocking and checked through its descriptor, so a pipe
 * put in its place meanwhile cannot hang the agent. Its size is not trusted
 * (files in /proc say 0): readers read to the end.
 */
export async function openFileForRead(path: string): Promise<ReadStream> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = await handle.stat();
    if (!info.isFile()) throw notRegularFile(path, info, 'read');
    const stream = handle.createReadStream();
    handle = undefined;
    return stream;
  } catch (error) {
    await handle?.close().catch(() => {});
    throw fileError(error, path, 'read');
  }
}
