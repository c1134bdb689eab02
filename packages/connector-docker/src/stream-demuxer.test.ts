import { describe, expect, it } from 'vitest';
import { StreamDemuxer } from './stream-demuxer.js';

function frame(stream: number, payload: string | Buffer): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function demux(chunks: Buffer[]): { stdout: string; stderr: string; incomplete: boolean } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const demuxer = new StreamDemuxer(
    (c) => out.push(Buffer.from(c)),
    (c) => err.push(Buffer.from(c)),
  );
  for (const chunk of chunks) demuxer.push(chunk);
  return {
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    incomplete: demuxer.incomplete,
  };
}

describe('StreamDemuxer', () => {
  const stream = Buffer.concat([
    frame(1, 'out one\n'),
    frame(2, 'err one\n'),
    frame(1, ''),
    frame(1, 'out two'),
    frame(3, 'daemon says no'),
  ]);

  it('splits frames into stdout and stderr (stream 3, the daemon, counts as stderr)', () => {
    expect(demux([stream])).toEqual({
      stdout: 'out one\nout two',
      stderr: 'err one\ndaemon says no',
      incomplete: false,
    });
  });

  it('gives the same result however the bytes are cut', () => {
    for (let size = 1; size <= 9; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      expect(demux(chunks)).toEqual(demux([stream]));
    }
  });

  it('says when the stream stopped inside a header or a payload', () => {
    expect(demux([stream.subarray(0, 4)]).incomplete).toBe(true);
    expect(demux([stream.subarray(0, 12)]).incomplete).toBe(true);
    expect(demux([frame(1, 'x')]).incomplete).toBe(false);
  });

  it('passes every byte value through', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const out: Buffer[] = [];
    const demuxer = new StreamDemuxer(
      (c) => out.push(Buffer.from(c)),
      () => {},
    );
    demuxer.push(frame(1, bytes));
    expect(Buffer.concat(out)).toEqual(bytes);
  });
});
