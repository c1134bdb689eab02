import { describe, expect, it } from 'vitest';
import { HandshakeLimiter, handshakeLimitsFromEnv } from './handshake-limiter.js';

describe('HandshakeLimiter', () => {
  it('holds handshakes past the total and the per-server limit, starting them in order', async () => {
    const limiter = new HandshakeLimiter({ total: 3, perServer: 2 });
    const started: string[] = [];
    const take = (server: string, label: string) =>
      limiter.acquire(server).then((release) => {
        started.push(label);
        return release;
      });
    const a1 = take('a', 'a1');
    const a2 = take('a', 'a2');
    const a3 = take('a', 'a3');
    const b1 = take('b', 'b1');
    const c1 = take('c', 'c1');
    await new Promise((resolve) => setImmediate(resolve));
    // a3 waits for server a; b1 fills the total; c1 waits for the total.
    expect(started).toEqual(['a1', 'a2', 'b1']);
    expect(limiter.active).toBe(3);
    expect(limiter.waiting).toBe(2);
    (await a1)();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a1', 'a2', 'b1', 'a3']);
    const releaseB1 = await b1;
    releaseB1();
    releaseB1(); // a second call changes nothing
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a1', 'a2', 'b1', 'a3', 'c1']);
    expect(limiter.active).toBe(3);
    for (const release of await Promise.all([a2, a3, c1])) release();
    expect(limiter.active).toBe(0);
  });

  it('allows fewer at once to a server that dropped a handshake, and more again as they get through', async () => {
    const limiter = new HandshakeLimiter({ total: 10, perServer: 4 });
    const releases = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('a')));
    limiter.dropped('a'); // four were under way: it takes three at most
    expect(limiter.limitFor('a')).toBe(3);
    for (const release of releases) release();
    const again = await Promise.all([1, 2, 3].map(() => limiter.acquire('a')));
    let fourth = false;
    const waiting = limiter.acquire('a').then((release) => {
      fourth = true;
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(false);
    limiter.succeeded('a');
    limiter.succeeded('a'); // two of three through: still three
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(false);
    limiter.succeeded('a'); // three through: four again, the waiting one starts
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(true);
    expect(limiter.limitFor('a')).toBe(4);
    for (const release of [...again, await waiting]) release();
    limiter.dropped('b'); // nothing under way to b: at least one stays allowed
    expect(limiter.limitFor('b')).toBe(1);
    expect(limiter.limitFor('c')).toBe(4);
  });

  it('reads its limits from the environment, refusing what is not a positive integer', () => {
    expect(handshakeLimitsFromEnv({})).toEqual({ total: 32, perServer: 8 });
    expect(
      handshakeLimitsFromEnv({
        INFRA_SSH_MAX_HANDSHAKES: '100',
        INFRA_SSH_MAX_HANDSHAKES_PER_SERVER: '20',
      }),
    ).toEqual({ total: 100, perServer: 20 });
    expect(() => handshakeLimitsFromEnv({ INFRA_SSH_MAX_HANDSHAKES: '0' })).toThrow(
      'INFRA_SSH_MAX_HANDSHAKES: expected a positive integer, got "0"',
    );
  });
});
