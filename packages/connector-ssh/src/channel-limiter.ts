/**
 * Counts the channels open on one SSH connection. `acquire()` waits for a free
 * slot instead of letting the server refuse the channel; when the server refuses
 * anyway (its `MaxSessions` is lower than our limit), `lowerTo()` adopts its limit.
 */
export class ChannelLimiter {
  #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /**
   * Told when a channel has to wait for a slot: a holder of a slot it does not
   * need (an idle command session) gives it back, so that nothing waits on it.
   */
  onWait: (() => void) | undefined;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`channel limit must be a positive integer, got ${limit}`);
    }
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get active(): number {
    return this.#active;
  }

  /** Channels waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * A slot; `first`: ahead of every channel already waiting (a kill that must not
   * wait behind them). `signal`: stop waiting when it aborts, rejecting with its
   * reason; the waiter leaves the queue, and a slot handed to it at that moment
   * is given back, so no stopped waiter holds one.
   */
  async acquire(first = false, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#active < this.#limit) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(grant);
        if (at < 0) return; // granted already: given back below
        this.#waiting.splice(at, 1);
        reject(signal?.reason);
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (first) this.#waiting.unshift(grant);
      else this.#waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onWait?.();
    });
    if (signal?.aborted) {
      this.release();
      throw signal.reason;
    }
  }

  /** Take a slot when one is free now, without waiting; false when none is. */
  tryAcquire(): boolean {
    if (this.#active >= this.#limit || this.#waiting.length > 0) return false;
    this.#active++;
    return true;
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next && this.#active <= this.#limit) {
      next(); // the slot passes straight to the next waiter
      return;
    }
    if (next) this.#waiting.unshift(next);
    this.#active--;
  }

  /** Use at most `limit` channels from now on (at least one). */
  lowerTo(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#limit, limit));
  }
}
