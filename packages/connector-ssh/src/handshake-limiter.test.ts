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
