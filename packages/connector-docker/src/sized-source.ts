import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileSource } from '@infra/core';

/** Local reads and writes of file transfers in 1 MiB pieces: 64 KiB ones halve the throughput. */
export const READ_CHUNK = 2 ** 20;

/** A file's bytes, openable more than once, with their size (a tar header needs it first). */
export interface SizedSource {
  readonly size: number;
  open(): Readable;
  dispose(): Promise<void>;
}

/**
 * Paths and Buffers are read as they are; a stream is spooled to a local temp file
 * first (stopped, and the spool removed, when `signal` fires: a stream may stall).
 */
export async function sizedSource(src: FileSource, signal?: AbortSignal): Promise<SizedSource> {
  if (Buffer.isBuffer(src)) {
    return { size: src.length, open: () => Readable.from([src]), dispose: async () => {} };
  }
  if (typeof src === 'string') {
    const info = await stat(src);
    if (!info.isFile()) throw new Error(`${JSON.stringify(src)} is not a regular file`);
    return {
      size: info.size,
      open: () => createReadStream(src, { highWaterMark: READ_CHUNK }),
      dispose: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'infra-docker-put-'));
  const spool = join(dir, 'source');
  try {
    await pipeline(src, createWriteStream(spool, { mode: 0o600 }), signal ? { signal } : {});
    const { size } = await stat(spool);
    return {
      size,
      open: () => createReadStream(spool, { highWaterMark: READ_CHUNK }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
