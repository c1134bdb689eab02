import { isatty } from 'node:tty';
import { InfraError, type SecretPrompt } from '@infra/core';

/** What draws on the terminal and must stop while a question is asked (the live progress view). */
export interface PausableView {
  pause(): void;
  resume(): void;
}

type TerminalInput = NodeJS.ReadStream;
type TerminalOutput = NodeJS.WritableStream;

/**
 * Questions with hidden input on the terminal, one at a time (several hosts may need a
 * key's passphrase and the sudo password at once): the CLI's `SecretPrompt`, given to
 * `SudoPasswordPrompt` and to every connector as `ConnectorHost.prompt`.
 */
export class TerminalPrompt {
  readonly #input: TerminalInput;
  readonly #output: TerminalOutput;
  #turn: Promise<unknown> = Promise.resolve();
  #view: PausableView | undefined;

  constructor(input: TerminalInput, output: TerminalOutput) {
    this.#input = input;
    this.#output = output;
  }

  /** The prompt on this process's terminal; undefined when stdin is no terminal (nothing can answer). */
  static forProcess(): TerminalPrompt | undefined {
    // Asked before touching `process.stdin`, whose stream costs a start some milliseconds.
    if (!isatty(0)) return undefined;
    const { stdin, stderr } = process;
    if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return undefined;
    return new TerminalPrompt(stdin, stderr);
  }

  /** Keep `view` from drawing over a question (undefined: no view any more). */
  setView(view: PausableView | undefined): void {
    this.#view = view;
  }

  /** Ask `question`, after any question asked before it has been answered. */
  readonly ask: SecretPrompt = (question) => {
    const answer = this.#turn.then(() => this.#askNow(question));
    this.#turn = answer.catch(() => {});
    return answer;
  };

  async #askNow(question: string): Promise<string> {
    const view = this.#view;
    view?.pause();
    try {
      return await readHidden(question, this.#input, this.#output);
    } finally {
      view?.resume();
    }
  }
}

/**
 * Read a line from a terminal without echoing it. Backspace erases; Ctrl-C rejects and
 * gives the program its SIGINT, as a terminal would.
 */
export function readHidden(
  question: string,
  input: TerminalInput,
  output: TerminalOutput,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const wasRaw = input.isRaw;
    // Echo off before the question shows: an answer typed the moment it appears is not echoed.
    input.setRawMode(true);
    output.write(question);
    input.resume();
    const done = (error?: Error) => {
      input.setRawMode(wasRaw);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') {
          done(
            new InfraError(
              'INTERRUPTED',
              `Interrupted (Ctrl-C) at the question "${question.trim()}".`,
            ),
          );
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    input.on('data', onData);
  });
}
