export {
  type DiscoveredService,
  type DiscoverySource,
  type SourceFactory,
  type SourceInit,
  type SourceSink,
  type SpecOf,
  wanted,
} from './source.ts';
