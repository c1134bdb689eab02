import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type FileDestination, refuseNonRegularLocalFile } from '@infra/core';

/**
 * Write downloaded bytes to where the caller asked. A local path gets the whole
 * file or nothing: the bytes go to a hidden file beside it, which is renamed over
 * it (keeping an existing file's mode) only once all arrived, and removed when
 * anything fails, so a failed download leaves an existing file as it was.
 */
export async function writeDestination(
  dest: FileDestination,
  content: Buffer | AsyncIterable<Buffer>,
): Promise<void> {
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : Readable.from(content);
  if (typeof dest !== 'string') {
    await pipeline(source, dest as Writable);
    return;
  }
  await refuseNonRegularLocalFile(dest);
  const partial = join(dirname(dest), `.${basename(dest)}.infra-${randomBytes(8).toString('hex')}`);
  try {
    await pipeline(source, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    const existing = await stat(dest).catch(() => undefined);
    await chmod(partial, existing ? existing.mode & 0o7777 : 0o666 & ~currentUmask());
    await rename(partial, dest);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw error;
  }
}

function currentUmask(): number {
  // process.umask() reads by setting and restoring; there is no other way in Node.
  return process.umask();
}
