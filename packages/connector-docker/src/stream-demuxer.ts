/**
 * Splits the Engine API's multiplexed attach stream (what an exec without a TTY
 * sends): frames of an 8-byte header `[stream, 0, 0, 0, size (uint32 BE)]` and
 * `size` bytes, stream 1 for stdout and 2 for stderr. Frames may be cut anywhere
 * across chunks; payloads are handed on as they arrive, never copied whole.
 */
export class StreamDemuxer {
  readonly #onStdout: (chunk: Buffer) => void;
  readonly #onStderr: (chunk: Buffer) => void;
  /** A header cut across chunks. */
  #header: Buffer = Buffer.alloc(0);
  /** Bytes of the current frame's payload still to come, and where they go. */
  #remaining = 0;
  #target: ((chunk: Buffer) => void) | undefined;

  constructor(onStdout: (chunk: Buffer) => void, onStderr: (chunk: Buffer) => void) {
    this.#onStdout = onStdout;
    this.#onStderr = onStderr;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        this.#target?.(chunk.subarray(offset, offset + take));
        this.#remaining -= take;
        offset += take;
        continue;
      }
      const need = 8 - this.#header.length;
      const headerPart = chunk.subarray(offset, offset + need);
      offset += headerPart.length;
      this.#header =
        this.#header.length === 0 ? headerPart : Buffer.concat([this.#header, headerPart]);
      if (this.#header.length < 8) return;
      const stream = this.#header[0];
      this.#remaining = this.#header.readUInt32BE(4);
      // 0 is stdin echoed back (TTY off: never sent); 3 is the daemon's own error text.
      this.#target =
        stream === 2 || stream === 3 ? this.#onStderr : stream === 1 ? this.#onStdout : undefined;
      this.#header = Buffer.alloc(0);
    }
  }

  /** True when the stream stopped in the middle of a frame. */
  get incomplete(): boolean {
    return this.#remaining > 0 || this.#header.length > 0;
  }
}
