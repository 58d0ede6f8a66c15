import { channel } from 'node:diagnostics_channel';

/** Diagnostics channels of the discovery syncer; the observability lib subscribes to them. */
export const DISCOVERY_SYNCED_CHANNEL = 'portico:discovery:synced';
export const DISCOVERY_DOWN_CHANNEL = 'portico:discovery:down';
export const DISCOVERY_SKIPPED_CHANNEL = 'portico:discovery:skipped';
export const DISCOVERY_ERROR_CHANNEL = 'portico:discovery:error';

/** A complete listing arrived: the registry is reachable and its sets are current. `{ registry, type, services }` */
export const registrySyncedChannel = channel(DISCOVERY_SYNCED_CHANNEL);
/** The registry is unreachable; its sets are kept and marked stale. `{ registry, type, error, services }` */
export const registryDownChannel = channel(DISCOVERY_DOWN_CHANNEL);
/** A registration was malformed and left out. `{ registry, type, service, reason, raw? }` */
export const registrySkippedChannel = channel(DISCOVERY_SKIPPED_CHANNEL);
/** Background work failed (a source would not start, a bus write was refused and will be retried). `{ registry, error }` */
export const registryErrorChannel = channel(DISCOVERY_ERROR_CHANNEL);
