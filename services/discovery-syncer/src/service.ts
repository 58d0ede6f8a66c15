/**
 * The discovery syncer as a service of the one contract (@portico/runtime): watches the Registry resources on the
 * bus and keeps one EndpointSet per discovered service in the bus.
 */
import type { ConfigBus } from '@portico/bus';
import { BUILTIN_SOURCES, DiscoverySyncer, type SourceFactories } from '@portico/discovery';
import type { RunningService, Service } from '@portico/runtime';

export interface DiscoverySyncerServiceOptions {
  /** Replaces built-in sources by type (a custom registry). */
  sources?: SourceFactories;
}

export interface RunningDiscoverySyncer extends RunningService {
  /** Resolves when every endpoint change seen so far is in the bus. */
  flushed(): Promise<void>;
}

/** Starts the syncer on a bus alone; resolves once the Registry resources are read and a source runs for each. */
export async function startDiscoverySyncer(
  options: { bus: ConfigBus } & DiscoverySyncerServiceOptions,
): Promise<RunningDiscoverySyncer> {
  const syncer = new DiscoverySyncer({ bus: options.bus, factories: { ...BUILTIN_SOURCES, ...options.sources } });
  await syncer.start();
  let closing: Promise<void> | undefined;
  return {
    ready: () => closing === undefined,
    flushed: () => syncer.flushed(),
    close() {
      closing ??= syncer.stop();
      return closing;
    },
  };
}

export const discoverySyncerService: Service<DiscoverySyncerServiceOptions, RunningDiscoverySyncer> = {
  name: 'discovery-syncer',
  start: ({ bus, sources }) => startDiscoverySyncer({ bus, sources }),
};
