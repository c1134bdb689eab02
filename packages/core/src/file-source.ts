import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FileDestination, FileSource } from './connector.js';

/** A readable stream of a file source's bytes. */
export function openFileSource(src: FileSource): Readable {
  if (typeof src === 'string') return createReadStream(src);
  if (Buffer.isBuffer(src)) return Readable.from([src], { objectMode: false });
  return src;
}

/** How a source or destination is named in messages. */
export function describeFileEnd(end: FileSource | FileDestination): string {
  if (typeof end === 'string') return JSON.stringify(end);
  if (Buffer.isBuffer(end)) return `a buffer of ${end.length} bytes`;
  return 'a stream';
}
