/**
 * The exit code of an exec, told by the exec itself at the end of its output, so
 * the connector need not ask the daemon (`GET /exec/{id}/json`) after every
 * command: one API round trip less per command.
 *
 * The exec's shell gets an EXIT trap that writes `\x01infra-exit:<nonce>:<code>\n`
 * to its stderr. The trap writes only when the shell is an ash or dash (bash and
 * ksh run EXIT traps when a signal kills them, with a `$?` that is not the exit
 * status) and only when its stderr is still a pipe (the one the daemon reads; a
 * script that sent its stderr to a file keeps that file clean). A script that
 * sets its own EXIT trap, `exec`s another program or is killed writes no marker:
 * then the exit code is read from the daemon as before.
 */

const MARKER_PREFIX = '\x01infra-exit:';

/** Shells whose EXIT trap this can rely on (by name); the trap checks for bash and ksh itself. */
const TRAP_SHELLS = new Set(['sh', 'ash', 'dash']);

/** True when `shell` (a program name or path) may carry the exit-code trap. */
export function canUseExitMarker(shell: string): boolean {
  return TRAP_SHELLS.has(shell.slice(shell.lastIndexOf('/') + 1));
}

/** `script` behind the trap that reports its exit status with marker `nonce` ([0-9a-f]). */
export function withExitMarker(script: string, nonce: string): string {
  if (!/^[0-9a-f]+$/.test(nonce)) throw new Error(`exit marker nonce must be hex: ${nonce}`);
  const report = `__infra_status=$?; [ -z "$BASH_VERSION$KSH_VERSION$ZSH_VERSION" ] && [ -p /proc/self/fd/2 ] && printf '\\001infra-exit:${nonce}:%d\\n' "$__infra_status" >&2`;
  // A line of its own: the script may start with anything a line can.
  return `trap '${report.replaceAll("'", `'\\''`)}' EXIT\n${script}`;
}

/**
 * Takes the marker out of one output stream (stdout or stderr: `exec 2>&1`
 * sends it to stdout) and hands every other byte on, in order. The bytes that
 * might be the start of a marker cut across chunks are held until the next
 * chunk says what they are (a handful of bytes, only after a `\x01`).
 */
export class ExitMarkerFilter {
  readonly #marker: Buffer;
  readonly #forward: (chunk: Buffer) => void;
  #held: Buffer = Buffer.alloc(0);
  #exitCode: number | undefined;

  constructor(nonce: string, forward: (chunk: Buffer) => void) {
    this.#marker = Buffer.from(`${MARKER_PREFIX}${nonce}:`, 'latin1');
    this.#forward = forward;
  }

  /** The exit code the marker gave, if one came. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  push(chunk: Buffer): void {
    let data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const marker = this.#marker;
    for (;;) {
      const at = data.indexOf(marker);
      if (at === -1) break;
      const digits = at + marker.length;
      const newline = data.indexOf(0x0a, digits);
      if (newline === -1 && data.length - digits <= 3) {
        // The code and its newline are still to come.
        this.#emit(data.subarray(0, at));
        this.#held = data.subarray(at);
        return;
      }
      const text = newline === -1 ? '' : data.subarray(digits, newline).toString('latin1');
      if (/^\d{1,3}$/.test(text) && Number(text) <= 255) {
        this.#exitCode = Number(text);
        this.#emit(data.subarray(0, at));
        data = data.subarray(newline + 1);
      } else {
        // Not a marker after all: hand it on as it is.
        this.#emit(data.subarray(0, at + 1));
        data = data.subarray(at + 1);
      }
    }
    const keep = this.#partialMarkerAtEnd(data);
    this.#emit(data.subarray(0, data.length - keep));
    if (keep > 0) this.#held = data.subarray(data.length - keep);
  }

  /** The stream ended: bytes held back were not a marker. */
  end(): void {
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    this.#emit(held);
  }

  #emit(chunk: Buffer): void {
    if (chunk.length > 0) this.#forward(chunk);
  }

  /** How many bytes at the end of `data` are the beginning of a marker. */
  #partialMarkerAtEnd(data: Buffer): number {
    const marker = this.#marker;
    const from = Math.max(0, data.length - marker.length + 1);
    for (
      let start = data.indexOf(0x01, from);
      start !== -1;
      start = data.indexOf(0x01, start + 1)
    ) {
      const tail = data.subarray(start);
      if (marker.subarray(0, tail.length).equals(tail)) return tail.length;
    }
    return 0;
  }
}
