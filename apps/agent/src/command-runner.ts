import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { killProcessGroup } from '@infra/connector-utils';

export type OutputStreamName = 'stdout' | 'stderr';

export interface CommandRequest {
  /** A POSIX shell command, run with `/bin/sh -c`. */
  readonly command: string;
  readonly timeoutSeconds: number;
  /** Bytes fed to the command's stdin; without it stdin is /dev/null. */
  readonly stdin?: Buffer;
  /** Extra environment variables for the command. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The environment the command starts from (the agent's, minus its token). */
  readonly baseEnv: NodeJS.ProcessEnv;
  /** Bytes kept per stream; undefined keeps nothing (the caller takes `onChunk`). */
  readonly maxOutputBytes?: number;
  /** Every chunk of output as it arrives. Return false to ask for a pause until `resume()`. */
  readonly onChunk?: (stream: OutputStreamName, chunk: Buffer) => boolean;
}

export interface CommandOutcome {
  /** The exit code; 128 + the signal number when a signal ended the command. */
  readonly exitCode: number;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
}

class CappedBuffer {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.#limit - this.#size;
    if (chunk.length > room) {
      this.truncated = true;
      if (room <= 0) return;
      chunk = chunk.subarray(0, room);
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }
}

/**
 * A command running in a process group of its own, so a timeout, a client that
 * goes away or a shutdown can kill everything it started.
 */
export class RunningCommand {
  readonly done: Promise<CommandOutcome>;
  readonly #pause: () => void;
  readonly #resume: () => void;
  readonly #child: ChildProcess;
  #finished = false;

  constructor(request: CommandRequest) {
    const child = spawn('/bin/sh', ['-c', request.command], {
      cwd: request.cwd,
      env: { ...request.baseEnv, ...request.env },
      detached: true,
      stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const limit = request.maxOutputBytes ?? 0;
    const kept = { stdout: new CappedBuffer(limit), stderr: new CappedBuffer(limit) };
    const { stdout, stderr } = child as typeof child & { stdout: Readable; stderr: Readable };
    const wire = (name: OutputStreamName) => {
      (name === 'stdout' ? stdout : stderr).on('data', (chunk: Buffer) => {
        if (request.maxOutputBytes !== undefined) kept[name].push(chunk);
        if (request.onChunk && !request.onChunk(name, chunk)) this.#pause();
      });
    };
    this.#pause = () => {
      stdout.pause();
      stderr.pause();
    };
    this.#resume = () => {
      stdout.resume();
      stderr.resume();
    };
    wire('stdout');
    wire('stderr');
    if (request.stdin && child.stdin) {
      // A command that does not read its stdin closes the pipe: that is not an error.
      child.stdin.on('error', () => {});
      child.stdin.end(request.stdin);
    }

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.kill();
    }, request.timeoutSeconds * 1000);

    this.done = new Promise<CommandOutcome>((resolve, reject) => {
      child.on('error', (error) => {
        clearTimeout(timer);
        this.#finished = true;
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#finished = true;
        const signalNumber = signal ? (constants.signals[signal] ?? 0) : 0;
        resolve({
          exitCode: code ?? 128 + signalNumber,
          signal,
          timedOut,
          stdout: kept.stdout.toBuffer(),
          stderr: kept.stderr.toBuffer(),
          stdoutTruncated: kept.stdout.truncated,
          stderrTruncated: kept.stderr.truncated,
        });
      });
    });
  }

  /** Resume output after `onChunk` returned false. */
  resume(): void {
    this.#resume();
  }

  /**
   * Kill the command: the whole process group with SIGKILL, at once. The one kill
   * rule of infra (`killProcessGroup` of `@infra/connector-utils`), for a timeout, a
   * client that goes away and a shutdown alike.
   */
  kill(): void {
    if (this.#finished) return;
    // Paused streams (backpressure) would keep the output open: resume them so it ends.
    this.#resume();
    killProcessGroup(this.#child);
  }
}

/** The text of one stream for a JSON answer, with a marker when the cap cut it. */
export function outputText(
  bytes: Buffer,
  truncated: boolean,
  stream: OutputStreamName,
  limit: number,
): string {
  const text = bytes.toString('utf8');
  if (!truncated) return text;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${separator}[infra-agent: ${stream} truncated: the command printed more than ${limit} bytes; the rest was dropped (--max-output)]\n`;
}
