import type { Readable, Writable } from 'node:stream';
import { pack } from 'tar-stream';
import { writeBounded } from './bounded-write.js';

/** What a tar entry for one uploaded file says about it. */
export interface ArchiveFileHeader {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * A tar stream holding one file, what `putArchive` extracts into a directory.
 * The bytes are streamed from `source`, never held whole.
 */
export function packSingleFile(source: Readable, header: ArchiveFileHeader): Readable {
  const archive = pack();
  const entry = archive.entry(
    {
      name: header.name,
      size: header.size,
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      mtime: new Date(),
      type: 'file',
    },
    (error) => {
      if (error) archive.destroy(error);
      else archive.finalize();
    },
  );
  source.on('error', (error) => archive.destroy(error));
  // A size mismatch surfaces on the entry: the archive fails with it.
  entry.on('error', (error: Error) => archive.destroy(error));
  source.pipe(entry as unknown as Writable);
  // tar-stream's streams are streamx streams: they pipe like node's.
  return archive as unknown as Readable;
}

/** The first entry of a `getArchive` stream: a file's bytes, or what else the path is. */
export type ArchiveEntry =
  | { readonly type: 'file'; readonly size: number; readonly mode: number }
  | { readonly type: 'symlink'; readonly linkTarget: string }
  | { readonly type: 'directory' | 'other' };

const BLOCK = 512;

/** A tar header number: octal text, or base-256 (high bit set) for big sizes. */
function tarNumber(field: Buffer): number {
  if (field.length > 0 && (field[0] as number) & 0x80) {
    let value = (field[0] as number) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function tarString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** `key=value` records of a PAX extended header: `"<len> key=value\n"`. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(offset, space).toString('latin1'), 10);
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

/**
 * Copy the first entry of a tar stream (what `getArchive` returns for a path)
 * into `dest` when it is a regular file; say what it is otherwise. `dest` is
 * not ended. A reader of its own, for the one entry: it hands the stream's
 * chunks to `dest` as they are (no copy, no second stream), which keeps a get
 * as fast as `docker cp`. PAX and GNU long-name headers before the entry are read.
 */
export function extractFirstFile(archive: Readable, dest: Writable): Promise<ArchiveEntry> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let pendingLength = 0;
    /** What the next bytes are: a header, an extended header's data, or the file. */
    let state: 'header' | 'extended' | 'body' | 'done' = 'header';
    // `header()` moves the state on: read it through this, not the narrowed variable.
    const now = () => state;
    let need = BLOCK;
    let extendedType = '';
    let pax = new Map<string, string>();
    let longLink: string | undefined;
    let bodyLeft = 0;
    let entry: ArchiveEntry | undefined;

    const finish = (result: ArchiveEntry) => {
      state = 'done';
      archive.removeListener('data', onData);
      archive.resume();
      resolve(result);
    };
    const take = (length: number): Buffer => {
      const all =
        pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingLength);
      const taken = all.subarray(0, length);
      const rest = all.subarray(length);
      pending = rest.length > 0 ? [rest] : [];
      pendingLength = rest.length;
      return taken;
    };
    const header = (block: Buffer) => {
      if (block.every((byte) => byte === 0)) return finish({ type: 'other' });
      const type = String.fromCharCode(block[156] || 0x30);
      const size = pax.has('size') ? Number(pax.get('size')) : tarNumber(block.subarray(124, 136));
      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        extendedType = type;
        state = 'extended';
        need = Math.ceil(size / BLOCK) * BLOCK;
        bodyLeft = size;
        return;
      }
      if (type === '0' || type === '7') {
        entry = { type: 'file', size, mode: tarNumber(block.subarray(100, 108)) & 0o7777 };
        bodyLeft = size;
        state = 'body';
        if (size === 0) finish(entry);
        return;
      }
      if (type === '2') {
        return finish({
          type: 'symlink',
          linkTarget: pax.get('linkpath') ?? longLink ?? tarString(block.subarray(157, 257)),
        });
      }
      finish({ type: type === '5' ? 'directory' : 'other' });
    };
    const write = (chunk: Buffer) => writeBounded(dest, chunk, archive);
    const onData = (chunk: Buffer) => {
      if (state === 'body') {
        const part = chunk.length <= bodyLeft ? chunk : chunk.subarray(0, bodyLeft);
        bodyLeft -= part.length;
        write(part);
        if (bodyLeft === 0) finish(entry as ArchiveEntry);
        return;
      }
      pending.push(chunk);
      pendingLength += chunk.length;
      while ((now() === 'header' || now() === 'extended') && pendingLength >= need) {
        const block = take(need);
        if (now() === 'header') {
          header(block);
        } else {
          const data = block.subarray(0, bodyLeft);
          if (extendedType === 'x') pax = paxRecords(data);
          if (extendedType === 'K') longLink = tarString(data);
          state = 'header';
          need = BLOCK;
        }
      }
      if (now() === 'body' && pendingLength > 0) {
        const rest = take(pendingLength);
        onData(rest);
      }
    };
    archive.on('data', onData);
    archive.on('error', (error) => {
      if (state !== 'done') reject(error);
    });
    archive.once('end', () => {
      if (state === 'done') return;
      if (entry?.type === 'file')
        reject(new Error(`the archive ended ${bodyLeft} bytes before the end of the file`));
      else finish({ type: 'other' });
    });
  });
}

/** Go's `os.FileMode` bits, as the `X-Docker-Container-Path-Stat` header gives a mode. */
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_IRREGULAR = 2 ** 19;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_STICKY = 2 ** 20;

/** What the daemon says about a path in a container (`HEAD /containers/{id}/archive`). */
export interface ContainerPathStat {
  readonly name: string;
  readonly size: number;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  /** What it is, in words for a message (`a regular file`, `a named pipe`, `a character device`...). */
  readonly kind: string;
  /** The permission bits in unix form (0o4755). */
  readonly mode: number;
  readonly linkTarget: string;
}

/** Decode the `X-Docker-Container-Path-Stat` header (base64 JSON, a Go file mode). */
export function parsePathStat(header: string): ContainerPathStat {
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {
    name?: string;
    size?: number;
    mode?: number;
    linkTarget?: string;
  };
  const goMode = raw.mode ?? 0;
  // Past 2^31 the bits do not fit a 32-bit int: test them with division, not `&`.
  const has = (bit: number) => Math.floor(goMode / bit) % 2 === 1;
  let mode = goMode % 0o1000;
  if (has(GO_MODE_SETUID)) mode |= 0o4000;
  if (has(GO_MODE_SETGID)) mode |= 0o2000;
  if (has(GO_MODE_STICKY)) mode |= 0o1000;
  return {
    name: raw.name ?? '',
    size: raw.size ?? 0,
    isDirectory: has(GO_MODE_DIR),
    isSymlink: has(GO_MODE_SYMLINK),
    kind: has(GO_MODE_DIR)
      ? 'a directory'
      : has(GO_MODE_SYMLINK)
        ? 'a symbolic link'
        : has(GO_MODE_NAMED_PIPE)
          ? 'a named pipe'
          : has(GO_MODE_SOCKET)
            ? 'a socket'
            : has(GO_MODE_CHAR_DEVICE)
              ? 'a character device'
              : has(GO_MODE_DEVICE)
                ? 'a block device'
                : has(GO_MODE_IRREGULAR)
                  ? 'not a regular file'
                  : 'a regular file',
    mode,
    linkTarget: raw.linkTarget ?? '',
  };
}
