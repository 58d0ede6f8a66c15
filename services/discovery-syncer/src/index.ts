/**
 * The discovery-syncer service: registries -> EndpointSets in the bus. A thin composition root over
 * @portico/discovery.
 */
export {
  type DiscoverySyncerServiceOptions,
  discoverySyncerService,
  type RunningDiscoverySyncer,
  startDiscoverySyncer,
} from './service.ts';
