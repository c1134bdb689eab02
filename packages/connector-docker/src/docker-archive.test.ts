import { Readable, Writable } from 'node:stream';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractFirstFile, packSingleFile, parsePathStat } from './docker-archive.js';

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

async function toBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('packSingleFile / extractFirstFile', () => {
  const bytes = Buffer.concat([
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.alloc(70_000, 7),
  ]);

  it('round-trips every byte value with the header it was given', async () => {
    const archive = await toBuffer(
      packSingleFile(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), {
        name: '.f.infra-1.tmp',
        size: bytes.length,
        mode: 0o640,
        uid: 1000,
        gid: 1001,
      }),
    );
    const headers: { name: string; mode?: number; uid?: number; gid?: number }[] = [];
    const unpack = extract();
    unpack.on('entry', (header, body, next) => {
      headers.push(header);
      body.resume();
      body.on('end', next);
    });
    const done = new Promise((resolve) => unpack.on('finish', resolve));
    unpack.end(archive);
    await done;
    expect(headers).toMatchObject([{ name: '.f.infra-1.tmp', mode: 0o640, uid: 1000, gid: 1001 }]);

    const { sink, bytes: got } = collect();
    const entry = await extractFirstFile(Readable.from([archive]), sink);
    expect(entry).toEqual({ type: 'file', size: bytes.length, mode: 0o640 });
    expect(got().equals(bytes)).toBe(true);
  });

  it('fails when the source has fewer bytes than the size said', async () => {
    const archive = packSingleFile(Readable.from([Buffer.from('short')]), {
      name: 'f',
      size: 10,
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
    await expect(toBuffer(archive)).rejects.toThrow();
  });
});

describe('parsePathStat', () => {
  const encode = (stat: object) => Buffer.from(JSON.stringify(stat)).toString('base64');

  it('reads a file mode, a directory and a symbolic link from Go file modes', () => {
    expect(parsePathStat(encode({ name: 'f', size: 3, mode: 0o644, linkTarget: '' }))).toEqual({
      name: 'f',
      size: 3,
      isDirectory: false,
      isSymlink: false,
      kind: 'a regular file',
      mode: 0o644,
      linkTarget: '',
    });
    expect(parsePathStat(encode({ name: 'tmp', mode: 2 ** 31 + 2 ** 20 + 0o777 }))).toMatchObject({
      isDirectory: true,
      mode: 0o1777,
    });
    expect(parsePathStat(encode({ name: 'sudo', mode: 2 ** 23 + 0o755 })).mode).toBe(0o4755);
    expect(
      parsePathStat(encode({ name: 'l', mode: 2 ** 27 + 0o777, linkTarget: 't' })),
    ).toMatchObject({
      isSymlink: true,
      linkTarget: 't',
    });
  });

  it('names what is not a regular file: pipes, sockets, devices', () => {
    const kind = (mode: number) => parsePathStat(encode({ name: 'x', mode })).kind;
    expect(kind(2 ** 25 + 0o644)).toBe('a named pipe');
    expect(kind(2 ** 24 + 0o777)).toBe('a socket');
    expect(kind(2 ** 26 + 2 ** 21 + 0o666)).toBe('a character device');
    expect(kind(2 ** 26 + 0o660)).toBe('a block device');
    expect(kind(2 ** 31 + 0o755)).toBe('a directory');
  });
});

describe('extractFirstFile on what tar writers make', () => {
  async function archiveOf(
    entries: { header: Record<string, unknown>; body?: Buffer }[],
  ): Promise<Buffer> {
    const { pack } = await import('tar-stream');
    const archive = pack();
    for (const { header, body } of entries) archive.entry(header as never, body);
    archive.finalize();
    return toBuffer(archive as unknown as Readable);
  }

  it('reads a file behind a PAX header (a long unicode name), cut into 1-byte chunks', async () => {
    const name = `${'ü'.repeat(80)}/${'long-name-'.repeat(12)}.bin`;
    const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const archive = await archiveOf([{ header: { name, mode: 0o600, size: body.length }, body }]);
    const chunks = Array.from({ length: archive.length }, (_, i) => archive.subarray(i, i + 1));
    const { sink, bytes } = collect();
    expect(await extractFirstFile(Readable.from(chunks), sink)).toEqual({
      type: 'file',
      size: body.length,
      mode: 0o600,
    });
    expect(bytes().equals(body)).toBe(true);
  });

  it('says when the entry is a symbolic link, a directory or nothing', async () => {
    const link = await archiveOf([
      { header: { name: 'l', type: 'symlink', linkname: '../target.txt' } },
    ]);
    expect(await extractFirstFile(Readable.from([link]), collect().sink)).toEqual({
      type: 'symlink',
      linkTarget: '../target.txt',
    });
    const dir = await archiveOf([{ header: { name: 'd', type: 'directory' } }]);
    expect(await extractFirstFile(Readable.from([dir]), collect().sink)).toEqual({
      type: 'directory',
    });
    expect(await extractFirstFile(Readable.from([Buffer.alloc(1024)]), collect().sink)).toEqual({
      type: 'other',
    });
  });

  it('fails when the archive stops inside the file', async () => {
    const body = Buffer.alloc(5000, 1);
    const archive = await archiveOf([{ header: { name: 'f', size: body.length }, body }]);
    await expect(
      extractFirstFile(Readable.from([archive.subarray(0, 2000)]), collect().sink),
    ).rejects.toThrow(/ended .* before the end of the file/);
  });
});
