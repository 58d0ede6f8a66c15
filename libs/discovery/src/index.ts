export {
  discoveryChannels,
  type RegistryDownEvent,
  type RegistryErrorEvent,
  type RegistrySkippedEvent,
  type RegistrySyncedEvent,
} from './channels.ts';
export {
  type DiscoveredService,
  type DiscoverySource,
  type SourceFactory,
  type SourceInit,
  type SourceSink,
  type SpecOf,
  wanted,
} from './source.ts';
export { BUILTIN_SOURCES } from './sources/index.ts';
export { DiscoverySyncer, type DiscoverySyncerOptions, type SourceFactories } from './syncer.ts';
