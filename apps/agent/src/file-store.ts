import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { createReadStream, type ReadStream } from 'node:fs';
import { chown, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HttpError } from './request-body.js';

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
): Promise<number> {
  let existing: Stats | undefined;
  try {
    existing = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(error, path, 'write');
  }
  if (existing?.isDirectory()) throw new HttpError(409, `Cannot write ${path}: it is a directory.`);

  const temp = join(
    dirname(path),
    `.${basename(path)}.infra-agent-${randomBytes(6).toString('hex')}`,
  );
  let handle: Awaited<ReturnType<typeof open>> | undefined;
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
  }
}

/** Open a regular file for reading, with its size. */
export async function openFileForRead(path: string): Promise<{ size: number; stream: ReadStream }> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new HttpError(409, `Cannot read ${path}: it is a directory.`);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return { size: info.size, stream };
  } catch (error) {
    throw fileError(error, path, 'read');
  }
}
