import { randomHex } from '@infra/connector-utils';
import { type CommandInput, StringCommand, sh } from '@infra/core';

/**
 * `su` without a terminal, with `su_password`: the command prints `marker` on
 * stderr once su has switched user. Until then stdin is held back and stderr is
 * not output; the first stderr output before it is su's password prompt,
 * answered with `password` on stdin (never when su does not ask, e.g. as root).
 */
export interface SuPrompt {
  readonly marker: string;
  readonly password: string;
}

/** A prompt answer for one run. */
export function makeSuPrompt(password: string): SuPrompt {
  return { marker: `infra-su-switched-${randomHex(8)}`, password };
}

/**
 * The command, run only once su has switched user, announcing that on stderr
 * first: `printf MARKER >&2 && { command }`. Nothing of the command runs, and no
 * stdin is sent, before su has taken its password.
 */
export function afterSuMarker(command: CommandInput, marker: string): StringCommand {
  return StringCommand.of(sh`printf '%s\n' ${marker} >&2 &&`, '{\n', command, '\n}');
}

/**
 * What su says on stderr before the marker: its prompt is answered once through
 * `answer`, then `onSwitched` runs at the marker and everything after it is the
 * command's stderr (`pass`).
 */
export class SuPromptFilter {
  readonly #marker: Buffer;
  readonly #prompt: SuPrompt;
  readonly #answer: (text: string) => void;
  readonly #pass: (chunk: Buffer) => void;
  #pending = Buffer.alloc(0);
  #answered = false;
  switched = false;
  onSwitched: (() => void) | undefined;

  constructor(prompt: SuPrompt, answer: (text: string) => void, pass: (chunk: Buffer) => void) {
    this.#prompt = prompt;
    this.#marker = Buffer.from(`${prompt.marker}\n`);
    this.#answer = answer;
    this.#pass = pass;
  }

  push(chunk: Buffer): void {
    if (this.switched) {
      this.#pass(chunk);
      return;
    }
    this.#pending = Buffer.concat([this.#pending, chunk]);
    const at = this.#pending.indexOf(this.#marker);
    if (at !== -1) {
      // su's prompt (and nothing of the command's) comes before the marker.
      this.switched = true;
      const rest = this.#pending.subarray(at + this.#marker.length);
      this.#pending = Buffer.alloc(0);
      if (rest.length > 0) this.#pass(rest);
      this.onSwitched?.();
    } else if (
      !this.#answered &&
      !this.#marker.subarray(0, this.#pending.length).equals(this.#pending)
    ) {
      // Not the start of the marker: su is asking for its password.
      this.#answered = true;
      this.#answer(`${this.#prompt.password}\n`);
    }
  }

  /** su gave up (a wrong password): its messages are the command's stderr. */
  flush(): void {
    if (!this.switched && this.#pending.length > 0) this.#pass(this.#pending);
    this.#pending = Buffer.alloc(0);
  }
}
