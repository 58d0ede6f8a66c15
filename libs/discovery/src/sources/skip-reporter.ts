import type { SourceSink } from '../source.ts';

/**
 * Tells the sink about skipped registry entries once per service and reason: a poll that finds the same bad entry
 * again stays quiet, a reason that goes away and comes back is reported again.
 */
export class SkipReporter {
  readonly #sink: Pick<SourceSink, 'skipped'>;
  readonly #reported = new Map<string, Set<string>>();

  constructor(sink: Pick<SourceSink, 'skipped'>) {
    this.#sink = sink;
  }

  /** This round's skips for one service (empty: none left). */
  report(name: string, skipped: ReadonlyArray<{ reason: string; raw: string }>): void {
    const before = this.#reported.get(name);
    const now = new Set<string>();
    for (const { reason, raw } of skipped) {
      now.add(reason);
      if (!before?.has(reason)) this.#sink.skipped(name, reason, raw);
    }
    if (now.size > 0) this.#reported.set(name, now);
    else this.#reported.delete(name);
  }

  /** The service is gone from the registry. */
  forget(name: string): void {
    this.#reported.delete(name);
  }
}
