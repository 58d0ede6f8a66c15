/**
 * One blocking-query loop, by the rules of Consul's blocking-query docs: ask with the last X-Consul-Index, report
 * when the index moved (a return is no proof of change: the caller compares content); an index that went backwards
 * is a reset (the answer is taken as current and the loop goes on from it); never block on an index below 1; and
 * rate-limit with a token bucket so churn degrades into polling instead of a busy loop.
 */
import { Cancel, type Fetched, isConnectionReset } from './client.ts';

/** Burst of quick successive answers allowed before the loop is paced. */
const BURST = 4;
/** Pace once the burst is spent: at most one read per this many ms (a change is never lost, only coalesced). */
const REFILL_MS = 250;

export class TokenBucket {
  readonly #burst: number;
  readonly #everyMs: number;
  #tokens: number;
  #at: number;

  constructor(burst = BURST, everyMs = REFILL_MS, now = performance.now()) {
    this.#burst = burst;
    this.#everyMs = everyMs;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes a token and returns 0, or returns how many ms until one is due (nothing taken). */
  take(now = performance.now()): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) / this.#everyMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) * this.#everyMs);
  }
}

export interface BlockingWatchOptions {
  /** Index to start from: 0 answers at once (and is always reported), a listing's index blocks until a change. */
  index: bigint;
  fetch(index: bigint, ctx: Cancel): Promise<Fetched>;
  /** The view's index moved (or went backwards). */
  onChange(body: unknown, index: bigint): void;
  /** The loop has ended on this error (it is not called after stop()). */
  onError(err: unknown): void;
}

export class BlockingWatch {
  readonly #options: BlockingWatchOptions;
  readonly #ctx = new Cancel();
  readonly #bucket = new TokenBucket();
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(options: BlockingWatchOptions) {
    this.#options = options;
    void this.#run(options.index);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    this.#ctx.cancel();
  }

  async #run(start: bigint): Promise<void> {
    let index = start;
    let retried = false;
    while (!this.#stopped) {
      const delay = this.#bucket.take();
      if (delay > 0) {
        await this.#sleep(delay);
        continue;
      }
      let got: Fetched;
      try {
        got = await this.#options.fetch(index, this.#ctx);
      } catch (err) {
        if (this.#stopped) return;
        if (!retried && isConnectionReset(err)) {
          retried = true;
          continue;
        }
        this.#options.onError(err);
        return;
      }
      retried = false;
      if (this.#stopped) return;
      if (got.index !== index || index === 0n) {
        try {
          this.#options.onChange(got.body, got.index);
        } catch (err) {
          this.#options.onError(err);
          return;
        }
      }
      index = got.index < 1n ? 1n : got.index;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
      this.#timer = setTimeout(this.#wake, ms);
    });
  }
}
