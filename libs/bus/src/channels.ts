import { channel } from 'node:diagnostics_channel';
import type { Kind } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';

/** Diagnostics channels of the bus; the observability lib subscribes to them. */
export const BUS_INVALID_CHANNEL = 'portico:bus:invalid';
export const BUS_DISCONNECT_CHANNEL = 'portico:bus:disconnect';
export const BUS_RECONNECT_CHANNEL = 'portico:bus:reconnect';
export const BUS_RESYNC_CHANNEL = 'portico:bus:resync';
export const BUS_ERROR_CHANNEL = 'portico:bus:error';

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

export const invalidChannel = channel(BUS_INVALID_CHANNEL);
export const disconnectChannel = channel(BUS_DISCONNECT_CHANNEL);
export const reconnectChannel = channel(BUS_RECONNECT_CHANNEL);
export const resyncChannel = channel(BUS_RESYNC_CHANNEL);
export const errorChannel = channel(BUS_ERROR_CHANNEL);

export function publishInvalid(event: BusInvalidEvent): void {
  if (invalidChannel.hasSubscribers) invalidChannel.publish(event);
}
export function publishError(event: BusErrorEvent): void {
  if (errorChannel.hasSubscribers) errorChannel.publish(event);
}
