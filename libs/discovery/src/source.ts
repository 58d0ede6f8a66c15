/**
 * The contract between a registry client (a source) and the syncer. A source knows one registry's API and speaks
 * only in discovered services; the syncer owns diffing, staleness, writing to the bus and logging.
 */
import type { DiscoveredEndpoint, Registry, RegistrySpec, RegistryType } from '@portico/config';

export interface DiscoveredService {
  /** By the registry's naming convention (see @portico/config service-names). */
  name: string;
  /** Every instance the registry holds, healthy or not (unhealthy and disabled ones with healthy: false). */
  endpoints: DiscoveredEndpoint[];
  /** The registry's own revision of this service where it has one (ZooKeeper pzxid, Consul index, ...). */
  revision?: string;
}

export interface SourceSink {
  /**
   * A complete listing of the registry (after start, after every periodic re-list and after a reconnect): services
   * not in it are gone, and the registry is reachable again (stale marks are cleared).
   */
  snapshot(services: readonly DiscoveredService[]): void;
  /** One service changed (a watch or push fired). An empty endpoint list means it has no instances now. */
  update(service: DiscoveredService): void;
  /** One service is gone from the registry. */
  remove(name: string): void;
  /**
   * The registry can't be reached (or a listing failed). Endpoints already known stay, marked stale, until the
   * next snapshot(). The source keeps retrying on its own.
   */
  down(error: Error): void;
  /** One registration could not be understood; it is left out and everything else goes on. */
  skipped(service: string, reason: string, raw?: string): void;
}

export interface DiscoverySource {
  /** Connects and starts watching. Never rejects for an unreachable registry: it calls sink.down() and retries. */
  start(): Promise<void>;
  /** Stops watching and closes connections. */
  stop(): Promise<void>;
}

export type SpecOf<T extends RegistryType> = Extract<RegistrySpec, { type: T }>;

/** Everything a source is made from: the Registry's name, its spec (defaults filled in) and the sink. */
export interface SourceInit<T extends RegistryType> {
  name: Registry['metadata']['name'];
  spec: SpecOf<T>;
  sink: SourceSink;
}

export type SourceFactory<T extends RegistryType> = (init: SourceInit<T>) => DiscoverySource;

/** True when the Registry's `services` filter (if any) lets this name through. */
export function wanted(spec: { services?: readonly string[] | undefined }, name: string): boolean {
  return spec.services === undefined || spec.services.includes(name);
}
