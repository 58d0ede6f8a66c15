import type { Kind } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';
import { defineChannel } from '@portico/observability';

/** A stored value failed JSON parsing or validation; readers kept the last good value. */
export interface BusInvalidEvent {
  kind: Kind;
  key: string;
  revision: number;
  errors: ErrorDetail[];
}
export interface BusConnectionEvent {
  server: string;
}
export interface BusResyncEvent {
  revision: number;
  durationMs: number;
  resources: number;
}
/** Something went wrong in the background (a listener threw, a resync attempt failed). */
export interface BusErrorEvent {
  where: 'listener' | 'resync' | 'watch';
  error: unknown;
}

/** The bus's diagnostics events; the diagnostics wiring subscribes through these descriptors. */
export const busChannels = {
  invalid: defineChannel<BusInvalidEvent>('portico:bus:invalid'),
  /** Lost the connection to NATS; serving last known good. */
  disconnect: defineChannel<BusConnectionEvent>('portico:bus:disconnect'),
  reconnect: defineChannel<BusConnectionEvent>('portico:bus:reconnect'),
  /** The watch resynced after a gap. */
  resync: defineChannel<BusResyncEvent>('portico:bus:resync'),
  error: defineChannel<BusErrorEvent>('portico:bus:error'),
};
