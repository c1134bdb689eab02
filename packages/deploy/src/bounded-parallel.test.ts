import { describe, expect, it } from 'vitest';
import { mapBounded } from './bounded-parallel.js';

/** A task that finishes when the test says so, recording how many run at once. */
function tracker() {
  let running = 0;
  let most = 0;
  const release: (() => void)[] = [];
  const work = async (item: number): Promise<number> => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => release.push(resolve));
    running--;
    return item * 10;
  };
  const drain = async (): Promise<void> => {
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { work, drain, most: () => most };
}

describe('mapBounded', () => {
  it('never runs more than the limit at once and keeps the order of results', async () => {
    const t = tracker();
    const done = mapBounded([1, 2, 3, 4, 5], 2, t.work);
    await t.drain();
    expect(await done).toEqual([10, 20, 30, 40, 50]);
    expect(t.most()).toBe(2);
  });

  it('runs everything at once without a limit', async () => {
    const t = tracker();
    const done = mapBounded([1, 2, 3, 4], undefined, t.work);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.most()).toBe(4);
    await t.drain();
    expect(await done).toEqual([10, 20, 30, 40]);
  });

  it('handles no items', async () => {
    expect(await mapBounded([], 3, async (x: number) => x)).toEqual([]);
  });
});
