/** A one-off read of every valid value in a bucket (list), with no watch left running. */
import type { KV } from '@nats-io/kv';
import type { Kind, Resource } from '@portico/config';
import { WatchSet, watchBucket } from './bucket-watch.ts';
import type { LastGood } from './last-good.ts';

export async function readBucket(
  kv: KV,
  kind: Kind,
  bucket: string,
  lastGood: LastGood,
  loadTimeoutMs: number,
): Promise<Resource[]> {
  const values = new Map<string, Resource>();
  const set = new WatchSet();
  try {
    await watchBucket({
      kv,
      bucket,
      set,
      loadTimeoutMs,
      onEntry: (e) => {
        const v = lastGood.accept(kind, e);
        if (v === 'remove') values.delete(e.key);
        else if (v !== 'keep') values.set(e.key, v);
      },
    });
  } finally {
    set.stop();
  }
  return [...values.values()];
}
