/** Shared by the e2e suites: a bounded request load, how long to wait for a registry change, and counting answers. */
import type { WaitOptions } from '@portico/testkit';

export interface LoadResult {
  ok: number;
  failed: { status: number; text: string }[];
}

/** `workers` loops of sequential requests until stop() (or maxMs), counting every non-2xx answer or error. */
export function runLoad(url: string, workers = 4, maxMs = 60_000, headers: Record<string, string> = {}) {
  const result: LoadResult = { ok: 0, failed: [] };
  let running = true;
  const deadline = Date.now() + maxMs;
  const loops = Array.from({ length: workers }, async () => {
    while (running && Date.now() < deadline) {
      try {
        const res = await fetch(url, { headers });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) result.ok++;
        else result.failed.push({ status: res.status, text: text.slice(0, 200) });
      } catch (err) {
        result.failed.push({ status: 0, text: String((err as Error).cause ?? err) });
      }
    }
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/**
 * How the e2e suites wait (with waitUntil) for a registry change to reach the proxy through the syncer: every
 * 200 ms, since each check sends requests through the proxy, for up to 20 s.
 */
export const SYNC_WAIT: WaitOptions = { timeoutMs: 20_000, everyMs: 200 };

/** Runs `one` n times in sequence and counts its answers. */
export async function countBy(n: number, one: () => Promise<string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = await one();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
