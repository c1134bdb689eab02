import { MaskString } from './command.js';
import { SudoPasswordError } from './errors.js';

/** Where a run gets its sudo password from, asked at most once and shared by every host. */
export interface SudoPasswordSource {
  get(): Promise<MaskString>;
}

export const SUDO_PASSWORD_FROM_ENV = 'INFRA_SUDO_PASSWORD';

/**
 * Ask the user a question and read the answer without echoing it (a password, a key's
 * passphrase). Core reads no terminal: a program that has one (the CLI) supplies this.
 * Rejects when the user gives up (Ctrl-C).
 */
export type SecretPrompt = (question: string) => Promise<string>;

/**
 * The run's sudo password: `INFRA_SUDO_PASSWORD` when set, else the answer of `ask`
 * (the CLI passes its terminal prompt); with neither, a `SudoPasswordError` saying how
 * to give one. Concurrent hosts that need it share the one question.
 */
export class SudoPasswordPrompt implements SudoPasswordSource {
  readonly #env: NodeJS.ProcessEnv;
  readonly #ask: SecretPrompt | undefined;
  #pending: Promise<MaskString> | undefined;

  constructor(options: { env?: NodeJS.ProcessEnv; ask?: SecretPrompt; password?: string } = {}) {
    this.#env = options.env ?? process.env;
    this.#ask = options.ask;
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
    if (this.#ask === undefined) {
      throw new SudoPasswordError(
        `sudo needs a password and there is no terminal to ask for it: set ${SUDO_PASSWORD_FROM_ENV}, or run on a terminal.`,
      );
    }
    return new MaskString(await this.#ask('sudo password: '));
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
