import { MASK } from '@infra/core';

/** Secrets shorter than this are not searched for: masking every `a` would wreck the output. */
const SHORTEST_REDACTED = 4;

/**
 * A last line of defence: every secret the run knows (secret `--data` values, the
 * sudo password) is replaced by `***` in everything the CLI prints. Commands and
 * errors are masked where they are built; this catches a connector message that
 * was not.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();

  add(secret: string): void {
    if (secret.length >= SHORTEST_REDACTED) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.replaceAll(secret, MASK);
    }
    return out;
  }
}
