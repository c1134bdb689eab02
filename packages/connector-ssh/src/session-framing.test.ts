import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrameSplitter } from './session-framing.js';

const MARKER = 'c0ffee00112233445566778899aabbcc';

function split(chunks: (string | Buffer)[]): { data: Buffer; frames: string[]; order: string[] } {
  const parts: Buffer[] = [];
  const frames: string[] = [];
  const order: string[] = [];
  const splitter = new FrameSplitter(
    MARKER,
    (chunk) => {
      parts.push(Buffer.from(chunk));
      order.push('data');
    },
    (body) => {
      frames.push(body);
      order.push(`frame:${body}`);
    },
  );
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return { data: Buffer.concat(parts), frames, order };
}

describe('FrameSplitter', () => {
  it('hands over the bytes before a marker and the frame after it', () => {
    const { data, frames } = split([`hello\n${MARKER} x0 d\n`]);
    expect(data.toString()).toBe('hello\n');
    expect(frames).toEqual(['x0 d']);
  });

  it('finds a marker after output without a trailing newline', () => {
    const { data, frames } = split([`no newline${MARKER} x3 d\n`]);
    expect(data.toString()).toBe('no newline');
    expect(frames).toEqual(['x3 d']);
  });

  it('finds a marker that straddles chunks, at every cut', () => {
    const stream = `abc${MARKER} p42\nout put${MARKER} x0 d\n`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const { data, frames } = split([stream.slice(0, cut), stream.slice(cut)]);
      expect(data.toString(), `cut at ${cut}`).toBe('abcout put');
      expect(frames, `cut at ${cut}`).toEqual(['p42', 'x0 d']);
    }
    const { data, frames } = split([...stream]);
    expect(data.toString()).toBe('abcout put');
    expect(frames).toEqual(['p42', 'x0 d']);
  });

  it('passes on a start of the marker that turns out not to be one, bytes unchanged', () => {
    const near = `${MARKER.slice(0, 20)}zz`;
    const { data, frames } = split([`x${MARKER.slice(0, 20)}`, 'zz', `${MARKER} x1 d\n`]);
    expect(data.toString()).toBe(`x${near}`);
    expect(frames).toEqual(['x1 d']);
  });

  it('is binary-safe: random bytes around the frames come out as they went in', () => {
    const payload = randomBytes(200_000);
    const stream = Buffer.concat([payload, Buffer.from(`${MARKER} x0 d\n`)]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 997) chunks.push(stream.subarray(at, at + 997));
    const { data, frames } = split(chunks);
    expect(data.equals(payload)).toBe(true);
    expect(frames).toEqual(['x0 d']);
  });

  it('ends a frame cut short at the next marker', () => {
    const { frames } = split([`${MARKER} p${MARKER} x127 d\n`]);
    expect(frames).toEqual(['p', 'x127 d']);
  });

  it('keeps data and frames in stream order', () => {
    const { order } = split([`a${MARKER} p7\nb${MARKER} x0 d\n`]);
    expect(order).toEqual(['data', 'frame:p7', 'data', 'frame:x0 d']);
  });
});
