export type OutputStream = 'stdout' | 'stderr';

/** One line of a command's output, in the order the lines arrived. */
export interface OutputLine {
  readonly stream: OutputStream;
  readonly line: string;
}

/**
 * What a command printed, kept once as lines in arrival order (so stdout and
 * stderr interleave as they did), with its exit code or the signal that killed it.
 */
export class CommandOutput {
  readonly lines: readonly OutputLine[];
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(lines: readonly OutputLine[], exitCode: number | null, signal: string | null = null) {
    this.lines = lines;
    this.exitCode = exitCode;
    this.signal = signal;
  }

  get stdoutLines(): string[] {
    return this.linesOf('stdout');
  }

  get stderrLines(): string[] {
    return this.linesOf('stderr');
  }

  get stdout(): string {
    return this.stdoutLines.join('\n');
  }

  get stderr(): string {
    return this.stderrLines.join('\n');
  }

  /** Both streams, in the order the lines arrived. */
  get combined(): string {
    return this.lines.map((l) => l.line).join('\n');
  }

  private linesOf(stream: OutputStream): string[] {
    return this.lines.filter((l) => l.stream === stream).map((l) => l.line);
  }

  toJSON(): object {
    return { exitCode: this.exitCode, signal: this.signal, lines: this.lines };
  }
}

/** What `runShellCommand` resolves to. */
export interface CommandResult {
  /** The exit code is in `successExitCodes` (`[0]` by default) and no signal killed it. */
  readonly success: boolean;
  readonly output: CommandOutput;
}

export function isSuccess(
  exitCode: number | null,
  signal: string | null,
  successExitCodes: readonly number[] = [0],
): boolean {
  return signal === null && exitCode !== null && successExitCodes.includes(exitCode);
}

/**
 * Turns a byte stream into lines as the bytes arrive (UTF-8 safe across chunk
 * borders; a trailing `\r` is dropped). `end()` flushes a last line that has no
 * newline.
 */
export class LineSplitter {
  readonly #onLine: (line: string) => void;
  readonly #decoder = new TextDecoder('utf-8');
  #pending = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer | Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (text === '') return;
    let start = 0;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.#pending += text;
      return;
    }
    let head = this.#pending;
    this.#pending = '';
    while (newline !== -1) {
      this.#emit(head + text.slice(start, newline));
      head = '';
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    this.#pending = text.slice(start);
  }

  end(): void {
    this.#pending += this.#decoder.decode();
    if (this.#pending !== '') this.#emit(this.#pending);
    this.#pending = '';
  }

  #emit(line: string): void {
    this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/**
 * Collects output lines for a `CommandOutput` and forwards each to a listener as
 * it arrives: what every connector does with a command's two streams.
 */
export class OutputCollector {
  readonly lines: OutputLine[] = [];
  readonly stdout: LineSplitter;
  readonly stderr: LineSplitter;

  constructor(onOutput?: (line: OutputLine) => void) {
    const add = (stream: OutputStream) => (line: string) => {
      const entry: OutputLine = { stream, line };
      this.lines.push(entry);
      onOutput?.(entry);
    };
    this.stdout = new LineSplitter(add('stdout'));
    this.stderr = new LineSplitter(add('stderr'));
  }

  finish(exitCode: number | null, signal: string | null): CommandOutput {
    this.stdout.end();
    this.stderr.end();
    return new CommandOutput(this.lines, exitCode, signal);
  }
}
