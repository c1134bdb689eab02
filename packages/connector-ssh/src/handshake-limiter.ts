/** How many SSH handshakes may be under way at once, in the whole process and per server. */
export interface HandshakeLimits {
  /** Handshakes at once across every server (the controller's own CPU and sockets). */
  readonly total: number;
  /**
   * Handshakes at once to one server (`host:port` as connected to). OpenSSH's
   * `MaxStartups` starts refusing unauthenticated connections at 10 by default.
   */
  readonly perServer: number;
}

export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = { total: 32, perServer: 8 };

/** The environment variables that override the defaults. */
export const HANDSHAKE_LIMIT_ENV = {
  total: 'INFRA_SSH_MAX_HANDSHAKES',
  perServer: 'INFRA_SSH_MAX_HANDSHAKES_PER_SERVER',
} as const;

function limitFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name}: expected a positive integer, got "${raw}"`);
  }
  return value;
}

/** The limits from `INFRA_SSH_MAX_HANDSHAKES` / `INFRA_SSH_MAX_HANDSHAKES_PER_SERVER`, else the defaults. */
export function handshakeLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): HandshakeLimits {
  return {
    total: limitFrom(env, HANDSHAKE_LIMIT_ENV.total, DEFAULT_HANDSHAKE_LIMITS.total),
    perServer: limitFrom(env, HANDSHAKE_LIMIT_ENV.perServer, DEFAULT_HANDSHAKE_LIMITS.perServer),
  };
}

/**
 * Lets a connection attempt start its TCP connection and handshake only while
 * fewer than `total` are under way, and fewer than `perServer` to its server; the
 * others wait, in arrival order per server. This bounds what the controller and
 * each sshd see at once, independently of how many hosts run in parallel. A
 * server that drops handshakes gets fewer at once (one fewer than were under
 * way), and more again as handshakes get through.
 */
export class HandshakeLimiter {
  readonly limits: HandshakeLimits;
  #active = 0;
  #waitingCount = 0;
  readonly #activeByServer = new Map<string, number>();
  /** Waiting attempts by server; servers in the order their first waiter came. */
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(limits: HandshakeLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`handshake limit ${name} must be a positive integer, got ${value}`);
      }
    }
    this.limits = limits;
  }

  /** Handshakes under way. */
  get active(): number {
    return this.#active;
  }

  /** Attempts waiting for a slot. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /** Servers that dropped a handshake: how many may be under way to each now. */
  readonly #limitByServer = new Map<string, number>();

  /** How many handshakes may be under way to `server` now. */
  limitFor(server: string): number {
    const limit = this.#limitByServer.get(server);
    return limit === undefined ? this.limits.perServer : Math.floor(limit);
  }

  #canStart(server: string): boolean {
    return (
      this.#active < this.limits.total &&
      (this.#activeByServer.get(server) ?? 0) < this.limitFor(server)
    );
  }

  /**
   * `server` dropped a handshake before authentication (its `MaxStartups`): it takes
   * fewer at once than were under way, so allow one fewer than that from now on.
   */
  dropped(server: string): void {
    const active = this.#activeByServer.get(server) ?? 1;
    this.#limitByServer.set(server, Math.max(1, Math.min(this.limitFor(server), active - 1)));
  }

  /**
   * A handshake to `server` got through: allow more at once again, slowly (one more
   * after as many as are allowed have got through), up to `perServer`.
   */
  succeeded(server: string): void {
    const limit = this.#limitByServer.get(server);
    if (limit === undefined) return;
    const raised = limit + 1 / Math.floor(limit);
    if (raised >= this.limits.perServer) this.#limitByServer.delete(server);
    else this.#limitByServer.set(server, raised);
    if (Math.floor(raised) > Math.floor(limit)) this.#startWaiting(server);
  }

  #take(server: string): () => void {
    this.#active++;
    this.#activeByServer.set(server, (this.#activeByServer.get(server) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const left = this.#activeByServer.get(server)! - 1;
      if (left === 0) this.#activeByServer.delete(server);
      else this.#activeByServer.set(server, left);
      this.#startWaiting(server);
    };
  }

  #startNext(server: string, queue: (() => void)[]): void {
    const start = queue.shift()!;
    if (queue.length === 0) this.#waiting.delete(server);
    this.#waitingCount--;
    start();
  }

  /** Start what may start now: the freed server's next attempt first, then other servers'. */
  #startWaiting(freed: string): void {
    const queue = this.#waiting.get(freed);
    if (queue && this.#canStart(freed)) this.#startNext(freed, queue);
    for (const [server, waiting] of this.#waiting) {
      if (this.#active >= this.limits.total) return;
      while (this.#waiting.has(server) && this.#canStart(server)) this.#startNext(server, waiting);
    }
  }

  /** Wait for a slot to `server`; call the returned function when the handshake is over. */
  acquire(server: string): Promise<() => void> {
    // Waiters for this server would have started already if it had a free slot.
    if (this.#canStart(server)) return Promise.resolve(this.#take(server));
    return new Promise((resolve) => {
      const queue = this.#waiting.get(server);
      const start = () => resolve(this.#take(server));
      if (queue) queue.push(start);
      else this.#waiting.set(server, [start]);
      this.#waitingCount++;
    });
  }
}

let shared: HandshakeLimiter | undefined;

/** The process-wide limiter every SSH connection goes through (limits read from the environment once). */
export function sharedHandshakeLimiter(): HandshakeLimiter {
  shared ??= new HandshakeLimiter(handshakeLimitsFromEnv());
  return shared;
}
