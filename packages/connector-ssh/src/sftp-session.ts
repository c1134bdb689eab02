import type { SFTPWrapper } from 'ssh2';

/** What an SFTP request's callback gets: an error, or the request's value. */
export type SftpCallback<T> = (error: Error | null | undefined, value: T) => void;

/**
 * An SFTP session whose requests all fail at once when it is lost.
 *
 * ssh2 fails the requests outstanding when the channel closes ("No response from
 * server"), but a request made after that is never answered, so a transfer that
 * sends its next WRITE or READ, or closes its handle, after the connection dropped
 * would wait for ever. Every request goes through `call`, which rejects at once
 * when the session is already lost and as soon as it is lost while waiting.
 */
export class SftpSession {
  readonly sftp: SFTPWrapper;
  readonly #lost = new AbortController();
  readonly #pending = new Set<(error: Error) => void>();

  /** `describe`: how the session is named when its channel closes under it. */
  constructor(sftp: SFTPWrapper, describe: string) {
    this.sftp = sftp;
    const onClose = () => this.lose(new Error(`the SFTP session on ${describe} closed`));
    sftp.once('close', onClose);
    sftp.once('end', onClose);
  }

  /** Aborted, with the reason, once the session is lost. */
  get lostSignal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Fail every pending and later request with `error` (the first reason given wins). */
  lose(error: Error): void {
    if (this.#lost.signal.aborted) return;
    this.#lost.abort(error);
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const fail of pending) fail(error);
  }

  /** One request: its callback's value or error, or the reason the session was lost. */
  call<T>(run: (callback: SftpCallback<T>) => void): Promise<T> {
    const lost = this.#lost.signal;
    if (lost.aborted) return Promise.reject(lost.reason);
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => {
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      try {
        run((error, value) => {
          if (!this.#pending.delete(fail)) return; // already failed as lost
          if (error) reject(error);
          else resolve(value);
        });
      } catch (error) {
        fail(error as Error);
      }
    });
  }
}
