export {
  type BusConnectionEvent,
  type BusErrorEvent,
  type BusInvalidEvent,
  type BusResyncEvent,
  busChannels,
} from './channels.ts';
export {
  BusClosedError,
  BusConflictError,
  BusOptionsError,
  BusReadOnlyError,
  BusStoreError,
  BusUnavailableError,
} from './errors.ts';
export { bucketName, DEFAULT_BUCKET_PREFIX, resourceKey } from './keys.ts';
export { createMemoryBus } from './memory-bus.ts';
export { createNatsBus, NatsBus } from './nats/nats-bus.ts';
export type { NatsBusOptions } from './nats/options.ts';
export {
  createReplicaBus,
  isReplicaMessage,
  type ReplicaBus,
  type ReplicaMessage,
  replicaMessage,
} from './replica-bus.ts';
export type { ConfigBus, ConfigState, PutResult, StateListener } from './types.ts';
