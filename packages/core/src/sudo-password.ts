import { MaskString } from './command.js';
import { InfraError, SudoPasswordError } from './errors.js';

/** Where a run gets its sudo password from, asked at most once and shared by every host. */
export interface SudoPasswordSource {
  get(): Promise<MaskString>;
}

export const SUDO_PASSWORD_FROM_ENV = 'INFRA_SUDO_PASSWORD';

/** Ask a question with hidden input; undefined when there is no terminal. */
export type TerminalPrompt = (question: string) => Promise<string | undefined>;

/**
 * The run's sudo password: `INFRA_SUDO_PASSWORD` when set, else asked once on the
 * terminal with hidden input; with neither, a `SudoPasswordError` saying how to give one.
 * Concurrent hosts that need it share the one question.
 */
export class SudoPasswordPrompt implements SudoPasswordSource {
  readonly #env: NodeJS.ProcessEnv;
  readonly #ask: TerminalPrompt;
  #pending: Promise<MaskString> | undefined;

  constructor(options: { env?: NodeJS.ProcessEnv; ask?: TerminalPrompt; password?: string } = {}) {
    this.#env = options.env ?? process.env;
    this.#ask = options.ask ?? askHidden;
    if (options.password !== undefined)
      this.#pending = Promise.resolve(new MaskString(options.password));
  }

  get(): Promise<MaskString> {
    this.#pending ??= this.#resolve();
    return this.#pending;
  }

  async #resolve(): Promise<MaskString> {
    const fromEnv = this.#env[SUDO_PASSWORD_FROM_ENV];
    if (fromEnv !== undefined && fromEnv !== '') return new MaskString(fromEnv);
    const answer = await this.#ask('sudo password: ');
    if (answer === undefined) {
      throw new SudoPasswordError(
        `sudo needs a password and there is no terminal to ask for it: set ${SUDO_PASSWORD_FROM_ENV}, or run on a terminal.`,
      );
    }
    return new MaskString(answer);
  }
}

/** A source for runs that must never ask (tests, libraries): always the error. */
export const noSudoPassword: SudoPasswordSource = {
  get: () =>
    Promise.reject(
      new SudoPasswordError(
        `sudo needs a password and none was given: set ${SUDO_PASSWORD_FROM_ENV} or pass sudoPassword.`,
      ),
    ),
};

/** Read a line from the terminal without echoing it. */
export async function askHidden(question: string): Promise<string | undefined> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return undefined;
  stderr.write(question);
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const done = (error?: Error) => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') {
          // Ctrl-C: give the program its SIGINT, as a normal terminal would.
          done(new InfraError('INTERRUPTED', 'Interrupted (Ctrl-C) at the sudo password prompt.'));
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}
