/**
 * Runs `task` over `items` with at most `limit` running at once. A listing's fan-out goes through this, so 50,000
 * reads are not 50,000 pending closures at once (the session caps what is on the wire; this caps what is waiting).
 * Rejects with the first failure once the running tasks have settled.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
