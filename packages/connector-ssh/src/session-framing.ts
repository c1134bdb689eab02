const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Splits one output stream of a command session (stdout or stderr) into the
 * command's bytes and the session's frames: `MARKER BODY\n`, where MARKER is
 * the session's random marker. A marker is found anywhere in the stream (after
 * output without a trailing newline too) and may straddle chunks: bytes that
 * could be the start of a marker are held back until the next chunk says
 * whether they are. Every other byte goes to `onData`, in order, unchanged.
 */
export class FrameSplitter {
  readonly #marker: Buffer;
  readonly #onData: (chunk: Buffer) => void;
  readonly #onFrame: (body: string) => void;
  /** Held back: a possible start of the marker, or the body of a frame read so far. */
  #pending: Buffer = EMPTY;
  #inFrame = false;

  constructor(marker: string, onData: (chunk: Buffer) => void, onFrame: (body: string) => void) {
    if (marker.length < 16 || marker.includes('\n')) {
      throw new RangeError('a session marker must be at least 16 characters, without a newline');
    }
    this.#marker = Buffer.from(marker);
    this.#onData = onData;
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buffer = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = EMPTY;
    while (buffer.length > 0) {
      if (this.#inFrame) {
        const end = buffer.indexOf(NEWLINE);
        // A frame cut short (its writer died before the newline) ends where the next marker starts.
        const next = buffer.indexOf(this.#marker);
        if (next >= 0 && (end < 0 || next < end)) {
          this.#inFrame = false;
          this.#onFrame(buffer.subarray(0, next).toString('latin1').trim());
          buffer = buffer.subarray(next);
          continue;
        }
        if (end < 0) {
          this.#pending = Buffer.from(buffer);
          return;
        }
        this.#inFrame = false;
        this.#onFrame(buffer.subarray(0, end).toString('latin1').trim());
        buffer = buffer.subarray(end + 1);
        continue;
      }
      const at = buffer.indexOf(this.#marker);
      if (at >= 0) {
        if (at > 0) this.#onData(buffer.subarray(0, at));
        this.#inFrame = true;
        buffer = buffer.subarray(at + this.#marker.length);
        continue;
      }
      const held = this.#partialMarkerAtEnd(buffer);
      if (held < buffer.length) this.#onData(buffer.subarray(0, buffer.length - held));
      if (held > 0) this.#pending = Buffer.from(buffer.subarray(buffer.length - held));
      return;
    }
  }

  /** The length of the longest end of `buffer` that is a start of the marker (shorter than it). */
  #partialMarkerAtEnd(buffer: Buffer): number {
    const marker = this.#marker;
    const first = marker[0];
    for (
      let start = Math.max(0, buffer.length - marker.length + 1);
      start < buffer.length;
      start++
    ) {
      if (buffer[start] !== first) continue;
      const length = buffer.length - start;
      if (buffer.compare(marker, 0, length, start, buffer.length) === 0) return length;
    }
    return 0;
  }
}
