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

  snapshot(services: readonly DiscoveredService[]): void {
    this.calls.push({ type: 'snapshot', services });
    this.services.clear();
    for (const s of services) this.services.set(s.name, s);
    this.connected = true;
  }
  update(service: DiscoveredService): void {
    this.calls.push({ type: 'update', service });
    this.services.set(service.name, service);
  }
  remove(name: string): void {
    this.calls.push({ type: 'remove', name });
    this.services.delete(name);
  }
  down(error: Error): void {
    this.calls.push({ type: 'down', error });
    this.connected = false;
  }
  skipped(service: string, reason: string, raw?: string): void {
    this.calls.push({ type: 'skipped', service, reason, raw });
  }
}
