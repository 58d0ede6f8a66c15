/**
 * Turns the events other libs publish on node:diagnostics_channel into log lines and metrics.
 * The channel names are the contract; they are listed here (not imported) so this lib depends on none of them.
 * Payloads are read defensively: a field that is missing or of the wrong type is left out, never thrown on.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Logger } from './logger.ts';
import type { ProxyMetrics } from './metrics.ts';

export const CHANNELS = {
  /** A value read from the bus failed validation; the last good version stays. `{ kind, key, revision, errors }` */
  busInvalid: 'portico:bus:invalid',
  /** Lost the connection to NATS; serving last known good. `{ server }` */
  busDisconnect: 'portico:bus:disconnect',
  /** Connection back. `{ server }` */
  busReconnect: 'portico:bus:reconnect',
  /** Watch resynced after a gap. `{ revision, durationMs, resources }` */
  busResync: 'portico:bus:resync',
  /** Something failed in the bus's background work (a listener threw, a resync failed). `{ where, error }` */
  busError: 'portico:bus:error',
  /** Endpoint ejected by outlier detection. `{ backend, endpoint, reason?, durationMs? }` */
  upstreamEjected: 'portico:upstream:ejected',
  /** Ejection ended. `{ backend, endpoint }` */
  upstreamUneject: 'portico:upstream:uneject',
  /** Health check result changed. `{ backend, endpoint?, healthy?, endpoints?: { <state>: count } }` */
  upstreamHealth: 'portico:upstream:health',
  /** A connection to an endpoint failed. `{ backend, endpoint?, error? }` */
  upstreamConnectError: 'portico:upstream:connect-error',
  /** A new snapshot is live. `{ revision, resources?, durationMs? }` */
  proxyConfigApplied: 'portico:proxy:config-applied',
  /** A resource or snapshot was refused; the previous one stays live. `{ kind?, name?, errors?, error? }` */
  proxyConfigRejected: 'portico:proxy:config-rejected',
  /** A registry listed completely; its endpoint sets are current. `{ registry, type, services }` */
  discoverySynced: 'portico:discovery:synced',
  /** A registry is unreachable; its endpoint sets are kept, marked stale. `{ registry, type, error, services }` */
  discoveryDown: 'portico:discovery:down',
  /** A malformed registration was left out. `{ registry, type, service, reason, raw? }` */
  discoverySkipped: 'portico:discovery:skipped',
  /** Discovery background work failed (will be retried). `{ registry, error }` */
  discoveryError: 'portico:discovery:error',
} as const;

export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

export interface DiagnosticsTargets {
  logger: Logger;
  metrics: ProxyMetrics;
}

type Fields = Record<string, unknown>;

function fields(message: unknown): Fields {
  if (typeof message !== 'object' || message === null) return {};
  const out: Fields = {};
  for (const [k, v] of Object.entries(message)) {
    // pino serializes errors under `err` (message, type, stack); keep other fields as they are.
    if (v instanceof Error && (k === 'error' || k === 'err')) out.err = v;
    else out[k] = v;
  }
  return out;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** The upstream lib names the backend `cluster` (its Service name). */
function backendOf(f: Fields): string {
  return str(f.backend, str(f.cluster, 'unknown'));
}

/** Subscribes to every Portico channel; returns the function that unsubscribes them all. */
export function subscribeDiagnostics({ logger, metrics }: DiagnosticsTargets): () => void {
  if (typeof logger?.info !== 'function') throw new TypeError('logger must be a Logger from createLogger()');
  if (metrics === undefined || metrics === null) throw new TypeError('metrics must be a ProxyMetrics');
  const log = logger.child({ component: 'diagnostics' });

  const handlers: Record<ChannelName, (f: Fields) => void> = {
    [CHANNELS.busInvalid]: (f) => {
      metrics.configRejected.inc({ kind: str(f.kind, 'unknown') });
      log.warn({ event: CHANNELS.busInvalid, ...f }, 'config value on the bus is invalid; keeping the last good one');
    },
    [CHANNELS.busDisconnect]: (f) =>
      log.warn({ event: CHANNELS.busDisconnect, ...f }, 'config bus disconnected; serving last known good config'),
    [CHANNELS.busReconnect]: (f) => log.info({ event: CHANNELS.busReconnect, ...f }, 'config bus reconnected'),
    [CHANNELS.busResync]: (f) => log.info({ event: CHANNELS.busResync, ...f }, 'config bus resynced'),
    [CHANNELS.busError]: (f) => log.error({ event: CHANNELS.busError, ...f }, 'config bus background error'),
    [CHANNELS.upstreamEjected]: (f) => {
      metrics.upstreamEjections.inc({ backend: backendOf(f) });
      log.warn({ event: CHANNELS.upstreamEjected, ...f }, 'endpoint ejected');
    },
    [CHANNELS.upstreamUneject]: (f) => log.info({ event: CHANNELS.upstreamUneject, ...f }, 'endpoint back in rotation'),
    [CHANNELS.upstreamHealth]: (f) => {
      const backend = backendOf(f);
      if (typeof f.endpoints === 'object' && f.endpoints !== null) {
        for (const [state, count] of Object.entries(f.endpoints)) {
          if (typeof count === 'number') metrics.upstreamEndpoints.set({ backend, state }, count);
        }
      }
      log.info({ event: CHANNELS.upstreamHealth, ...f }, 'endpoint health changed');
    },
    [CHANNELS.upstreamConnectError]: (f) => {
      metrics.upstreamConnectErrors.inc({ backend: backendOf(f) });
      log.warn({ event: CHANNELS.upstreamConnectError, ...f }, 'cannot connect to endpoint');
    },
    [CHANNELS.proxyConfigApplied]: (f) => {
      if (typeof f.revision === 'number') metrics.configRevision.set(f.revision);
      metrics.configReloads.inc();
      log.info({ event: CHANNELS.proxyConfigApplied, ...f }, 'config applied');
    },
    [CHANNELS.proxyConfigRejected]: (f) => {
      metrics.configRejected.inc({ kind: str(f.kind, 'snapshot') });
      log.warn({ event: CHANNELS.proxyConfigRejected, ...f }, 'config rejected; previous config stays live');
    },
    [CHANNELS.discoverySynced]: (f) => {
      metrics.registryUp.set({ registry: str(f.registry, 'unknown'), type: str(f.type, 'unknown') }, 1);
      log.info({ event: CHANNELS.discoverySynced, ...f }, 'registry listed');
    },
    [CHANNELS.discoveryDown]: (f) => {
      metrics.registryUp.set({ registry: str(f.registry, 'unknown'), type: str(f.type, 'unknown') }, 0);
      log.warn({ event: CHANNELS.discoveryDown, ...f }, 'registry unreachable; keeping its last known endpoints');
    },
    [CHANNELS.discoverySkipped]: (f) => {
      metrics.registrySkipped.inc({ registry: str(f.registry, 'unknown') });
      log.warn({ event: CHANNELS.discoverySkipped, ...f }, 'malformed registration skipped');
    },
    [CHANNELS.discoveryError]: (f) => log.error({ event: CHANNELS.discoveryError, ...f }, 'discovery background error'),
  };

  const subscribed: Array<[string, (message: unknown) => void]> = [];
  for (const [name, handle] of Object.entries(handlers)) {
    const listener = (message: unknown): void => {
      // A bad payload must never throw into the publishing lib (publish is synchronous).
      try {
        handle(fields(message));
      } catch (err) {
        log.error({ event: name, err }, 'cannot record diagnostics event');
      }
    };
    subscribe(name, listener);
    subscribed.push([name, listener]);
  }
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    for (const [name, listener] of subscribed) unsubscribe(name, listener);
  };
}
