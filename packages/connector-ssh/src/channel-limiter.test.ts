import { describe, expect, it } from 'vitest';
import { ChannelLimiter } from './channel-limiter.js';

describe('ChannelLimiter with a stop signal', () => {
  it('a stopped waiter leaves the queue and never takes the slot freed later', async () => {
    const limiter = new ChannelLimiter(1);
    await limiter.acquire();
    const stop = new AbortController();
    const reason = new Error('stopped while queued');
    const waiting = limiter.acquire(false, stop.signal);
    expect(limiter.waiting).toBe(1);
    stop.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(limiter.waiting).toBe(0);
    limiter.release();
    expect(limiter.active).toBe(0);
    // The slot is free for the next one at once.
    expect(limiter.tryAcquire()).toBe(true);
  });

  it('gives back a slot handed to a waiter at the moment it is stopped', async () => {
    const limiter = new ChannelLimiter(1);
    await limiter.acquire();
    const stop = new AbortController();
    const reason = new Error('stopped as the slot came');
    const waiting = limiter.acquire(false, stop.signal);
    limiter.release(); // the slot passes to the waiter...
    stop.abort(reason); // ...which is stopped before it runs on
    await expect(waiting).rejects.toBe(reason);
    expect(limiter.active).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('rejects at once with the reason of a signal already aborted, taking nothing', async () => {
    const limiter = new ChannelLimiter(2);
    const reason = new Error('already stopped');
    await expect(limiter.acquire(false, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(limiter.active).toBe(0);
  });
});
