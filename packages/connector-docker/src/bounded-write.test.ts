import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SINK_BUFFER, writeBounded } from './bounded-write.js';

/** A sink with a small highWaterMark whose writes finish only when `flush()` is called. */
function slowSink(): { sink: Writable; flush(): void } {
  const waiting: (() => void)[] = [];
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(_chunk, _encoding, done) {
      waiting.push(done);
    },
  });
  return {
    sink,
    flush() {
      while (waiting.length > 0) waiting.shift()?.();
    },
  };
}

describe('writeBounded', () => {
  it('pauses the source only once the sink holds SINK_BUFFER bytes, and resumes it on drain', async () => {
    const { sink, flush } = slowSink();
    const source = new PassThrough();
    source.resume();
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    while (written + chunk.length < SINK_BUFFER) {
      writeBounded(sink, chunk, source);
      written += chunk.length;
      // Past the sink's own highWaterMark, but under SINK_BUFFER: still flowing.
      expect(source.isPaused()).toBe(false);
    }
    writeBounded(sink, chunk, source);
    expect(source.isPaused()).toBe(true);
    const drained = new Promise((resolve) => sink.once('drain', resolve));
    // The sink finishes its writes one by one (each done() lets the next one start).
    const timer = setInterval(flush, 1);
    await drained;
    clearInterval(timer);
    expect(source.isPaused()).toBe(false);
  });
});
