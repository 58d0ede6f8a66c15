import { defineChannel } from '@portico/observability';

/** A complete listing arrived: the registry is reachable and its sets are current. */
export interface RegistrySyncedEvent {
  registry: string;
  type: string;
  services: number;
}
/** The registry is unreachable; its sets are kept and marked stale. */
export interface RegistryDownEvent {
  registry: string;
  type: string;
  error: unknown;
  services: number;
}
/** A registration was malformed and left out. */
export interface RegistrySkippedEvent {
  registry: string;
  type: string;
  service: string;
  reason: string;
  raw?: unknown;
}
/** Background work failed (a source would not start, a bus write was refused and will be retried). */
export interface RegistryErrorEvent {
  registry: string;
  error: unknown;
}

/** The discovery syncer's diagnostics events; the diagnostics wiring subscribes through these descriptors. */
export const discoveryChannels = {
  synced: defineChannel<RegistrySyncedEvent>('portico:discovery:synced'),
  down: defineChannel<RegistryDownEvent>('portico:discovery:down'),
  skipped: defineChannel<RegistrySkippedEvent>('portico:discovery:skipped'),
  error: defineChannel<RegistryErrorEvent>('portico:discovery:error'),
};
