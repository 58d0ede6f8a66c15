/**
 * The discovery-syncer service: watches the Registry resources on the bus and keeps one EndpointSet per
 * discovered service in the bus. A thin composition root over @portico/discovery.
 */
import type { ConfigBus } from '@portico/bus';
import { BUILTIN_SOURCES, DiscoverySyncer, type SourceFactories } from '@portico/discovery';

export interface DiscoverySyncerService {
  /** Resolves when every endpoint change seen so far is in the bus. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

export async function startDiscoverySyncer(options: {
  bus: ConfigBus;
  /** Replaces built-in sources by type (tests, or a custom registry). */
  sources?: SourceFactories;
}): Promise<DiscoverySyncerService> {
  const syncer = new DiscoverySyncer({ bus: options.bus, factories: { ...BUILTIN_SOURCES, ...options.sources } });
  await syncer.start();
  return { flushed: () => syncer.flushed(), close: () => syncer.stop() };
}
