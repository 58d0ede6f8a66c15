/** Watching one bucket from its start: the last value per key, then every change. */
import type { KV, KvEntry } from '@nats-io/kv';
import { busChannels } from '../channels.ts';
import { BusUnavailableError } from '../errors.ts';

/** Watchers started together and stopped together. */
export class WatchSet {
  stopped = false;
  readonly #iters: Array<{ stop(): void }> = [];

  track(iter: { stop(): void }): void {
    this.#iters.push(iter);
    if (this.stopped) iter.stop();
  }

  stop(): void {
    this.stopped = true;
    for (const it of this.#iters) it.stop();
  }
}

export interface BucketWatch {
  kv: KV;
  /** The bucket's name, for messages. */
  bucket: string;
  set: WatchSet;
  /** How long loading the existing values may take before the watch counts as failed. */
  loadTimeoutMs: number;
  onEntry(e: KvEntry): void;
  /** The watch ended on its own after it loaded (its set was not stopped). */
  onEnded?(): void;
}

/**
 * Watches one bucket from the start; resolves once every value that existed when the watch began was passed to
 * onEntry, i.e. the stream's last sequence at that moment was seen. The watch keeps running until its set stops.
 */
export async function watchBucket(w: BucketWatch): Promise<void> {
  const { messages, last_seq: lastSeq } = (await w.kv.status()).streamInfo.state;
  const iter = await w.kv.watch();
  w.set.track(iter);
  const { promise: loaded, resolve, reject } = Promise.withResolvers<void>();
  let isLoaded = messages === 0;
  if (isLoaded) resolve();
  void (async () => {
    try {
      for await (const e of iter) {
        if (w.set.stopped) break;
        w.onEntry(e);
        if (!isLoaded && e.revision >= lastSeq) {
          isLoaded = true;
          resolve();
        }
      }
    } catch (error) {
      busChannels.error.publish({ where: 'watch', error });
    }
    if (!isLoaded) reject(new BusUnavailableError(`watch of ${w.bucket} ended before it loaded`));
    else if (!w.set.stopped) w.onEnded?.();
  })();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      loaded,
      new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new BusUnavailableError(`loading ${w.bucket} took over ${w.loadTimeoutMs} ms`)),
          w.loadTimeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
