import type { DiscoveredService, SourceSink } from '@portico/discovery';

/** A SourceSink that keeps the current view of the registry, for benches that time a change until it shows. */
export class ViewSink implements SourceSink {
  readonly view = new Map<string, DiscoveredService>();
  /** Complete listings received. */
  snapshots = 0;
  #wake: (() => void) | undefined;

  snapshot(services: readonly DiscoveredService[]): void {
    this.snapshots++;
    this.view.clear();
    for (const s of services) this.view.set(s.name, s);
    this.#wake?.();
  }
  update(service: DiscoveredService): void {
    this.view.set(service.name, service);
    this.#wake?.();
  }
  remove(name: string): void {
    this.view.delete(name);
    this.#wake?.();
  }
  down(): void {}
  skipped(): void {}

  /** Resolves once `check` holds, checked after every call. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        if (!check()) return;
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
