/** A counting lock: at most `limit` holders at once, the others wait in order. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * What hosts running the same deploy share: which `_runOnce` operations have
 * been claimed, and the locks behind `_serial` / `_parallel`. An operation is
 * identified by its position in the host's run and its name, so the same line
 * of a deploy is the same operation on every host.
 */
export class RunCoordinator {
  readonly #claimed = new Set<string>();
  readonly #locks = new Map<string, Semaphore>();

  /** True for the first host to ask for `key`, false for every later one. */
  claimOnce(key: string): boolean {
    if (this.#claimed.has(key)) return false;
    this.#claimed.add(key);
    return true;
  }

  /** Run `work` with at most `limit` hosts inside it at once for this `key`. */
  limit<T>(key: string, limit: number | undefined, work: () => Promise<T>): Promise<T> {
    if (limit === undefined) return work();
    let lock = this.#locks.get(key);
    if (!lock) {
      lock = new Semaphore(limit);
      this.#locks.set(key, lock);
    }
    return lock.use(work);
  }
}
