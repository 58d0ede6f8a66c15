/** A SourceSink that keeps what a source told it, for tests: the latest endpoints per service, and every call. */
import type { DiscoveredService, SourceSink } from '../src/index.ts';

export type SinkCall =
  | { type: 'snapshot'; services: readonly DiscoveredService[] }
  | { type: 'update'; service: DiscoveredService }
  | { type: 'remove'; name: string }
  | { type: 'down'; error: Error }
  | { type: 'skipped'; service: string; reason: string; raw?: string | undefined };

export class RecordingSink implements SourceSink {
  readonly calls: SinkCall[] = [];
  /** Current view: what the syncer would publish. */
  readonly services = new Map<string, DiscoveredService>();
  connected = false;
  #waiters: Array<() => void> = [];

  snapshot(services: readonly DiscoveredService[]): void {
    this.calls.push({ type: 'snapshot', services });
    this.services.clear();
    for (const s of services) this.services.set(s.name, s);
    this.connected = true;
    this.#wake();
  }
  update(service: DiscoveredService): void {
    this.calls.push({ type: 'update', service });
    this.services.set(service.name, service);
    this.#wake();
  }
  remove(name: string): void {
    this.calls.push({ type: 'remove', name });
    this.services.delete(name);
    this.#wake();
  }
  down(error: Error): void {
    this.calls.push({ type: 'down', error });
    this.connected = false;
    this.#wake();
  }
  skipped(service: string, reason: string, raw?: string): void {
    this.calls.push({ type: 'skipped', service, reason, raw });
    this.#wake();
  }

  /** Resolves when `check` holds (checked after every call), rejects after `timeoutMs` with `what` in the message. */
  until(check: (sink: this) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for: ${what}; calls: ${JSON.stringify(this.calls.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        if (!check(this)) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      };
      this.#waiters.push(waiter);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
