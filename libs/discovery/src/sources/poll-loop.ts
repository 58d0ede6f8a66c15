/**
 * The round loop of a source that polls its registry (Eureka, Nacos): run a round, wait, run the next. A failed
 * round is retried sooner (250 ms, doubling, capped), and only the first failure of an outage calls `down`; the
 * source calls `recovered()` once it has published a complete listing again.
 */
export interface PollLoopOptions {
  /** One round; throws when the registry could not be read. */
  round(): Promise<void>;
  /** Wait after a good round. */
  periodMs: number;
  /** Longest wait between retries while the registry is away. */
  maxRetryMs: number;
  /** The first failed round of an outage. */
  down(error: Error): void;
  /** Every failed round, before its retry is scheduled (e.g. to ask for a full listing next). */
  failed?(): void;
}

const FIRST_RETRY_MS = 250;

export class PollLoop {
  readonly #options: PollLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #failures = 0;
  #down = false;
  #stopped = false;

  constructor(options: PollLoopOptions) {
    this.#options = options;
  }

  /** True from the first failed round until recovered(). */
  get down(): boolean {
    return this.#down;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  recovered(): void {
    this.#down = false;
  }

  /** Runs the first round; resolves when it is done (it never rejects). */
  start(): Promise<void> {
    this.#running = this.#run();
    return this.#running;
  }

  /** No round is scheduled after this; resolves when the one in flight (if any) is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #run(): Promise<void> {
    const o = this.#options;
    let next = o.periodMs;
    try {
      await o.round();
      this.#failures = 0;
    } catch (error) {
      if (this.#stopped) return;
      o.failed?.();
      this.#failures++;
      next = Math.min(o.maxRetryMs, FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 16));
      if (!this.#down) {
        this.#down = true;
        o.down(error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#run();
    }, next);
  }
}
