/**
 * `items.map(work)` with at most `limit` calls running at once; results keep the
 * items' order. A `limit` of undefined runs them all at once.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number | undefined,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  const workers = Math.max(1, Math.min(limit ?? items.length, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
