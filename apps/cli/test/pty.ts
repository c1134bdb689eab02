import { type ChildProcess, spawn } from 'node:child_process';

/** A program on a real pseudo-terminal (util-linux `script`): what the user types goes to `type`. */
export interface PtyProgram {
  /** Everything the terminal showed so far. */
  output(): string;
  /** Resolves when the terminal has shown `text` (rejects if the program ends first). */
  waitFor(text: string | RegExp): Promise<void>;
  /** Type on the terminal (`\r` is Enter). */
  type(text: string): void;
  /** The program's exit code. */
  exit: Promise<number | null>;
  /** Kill the program and its terminal if they still run (a failed test must leave none behind). */
  kill(): void;
  child: ChildProcess;
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** `script` is there to give a pty (Debian's util-linux); undefined when it is, else why not. */
export function ptyMissingReason(): string | undefined {
  return process.platform === 'linux' ? undefined : 'util-linux script (a pty) runs on Linux only';
}

/** Run `argv` with stdin, stdout and stderr on a new pty; its own terminal settings (echo on) apply. */
export function startOnPty(
  argv: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): PtyProgram {
  const child = spawn('script', ['-qfec', argv.map(quote).join(' '), '/dev/null'], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let shown = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    shown += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      for (const check of waiters) check();
      resolve(code);
    });
  });
  return {
    child,
    exit,
    output: () => shown,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
    type: (text) => child.stdin?.write(text),
    waitFor(text) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const seen = typeof text === 'string' ? shown.includes(text) : text.test(shown);
          if (seen) {
            waiters.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(
              new Error(`the program ended before showing ${String(text)}; it showed:\n${shown}`),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
