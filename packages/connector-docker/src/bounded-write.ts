import type { Writable } from 'node:stream';

/**
 * Bytes a sink may hold before its source is paused: 1 MiB, whatever the sink's
 * own `highWaterMark` (a file stream's 16 KiB would pause the daemon's stream at
 * every chunk and cost a get about a third of its throughput).
 */
export const SINK_BUFFER = 2 ** 20;

/**
 * Write `chunk` to `sink`; pause `source` until the sink drains once the sink
 * holds SINK_BUFFER bytes or more. (Only after a `write()` that returned false:
 * then the sink emits `drain` when it empties.)
 */
export function writeBounded(
  sink: Writable,
  chunk: Buffer,
  source: { pause(): unknown; resume(): unknown },
): void {
  if (!sink.write(chunk) && sink.writableLength >= SINK_BUFFER) {
    source.pause();
    sink.once('drain', () => source.resume());
  }
}
