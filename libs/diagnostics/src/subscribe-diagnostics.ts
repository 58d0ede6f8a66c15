/**
 * Turns the events the libs publish (each through its own typed channel descriptors) into log lines and metrics.
 * This is the one place that knows every lib's events; the libs know nothing of logs or metrics.
 */
import { busChannels } from '@portico/bus';
import { proxyChannels } from '@portico/dataplane';
import { discoveryChannels } from '@portico/discovery';
import type { ChannelDescriptor, Logger, ProxyMetrics } from '@portico/observability';
import { routerChannels } from '@portico/router';
import { upstreamChannels } from '@portico/upstream';
import { UpstreamGauges } from './upstream-gauges.ts';

export interface DiagnosticsTargets {
  logger: Logger;
  metrics: ProxyMetrics;
}

/** Subscribes to every Portico channel; returns the function that unsubscribes them all. */
export function subscribeDiagnostics({ logger, metrics }: DiagnosticsTargets): () => void {
  if (typeof logger?.info !== 'function') throw new TypeError('logger must be a Logger from createLogger()');
  if (typeof metrics?.forRoute !== 'function') throw new TypeError('metrics must be a ProxyMetrics');
  const log = logger.child({ component: 'diagnostics' });
  const upstream = new UpstreamGauges(metrics);
  const unsubscribes: Array<() => void> = [];

  function on<T>(channel: ChannelDescriptor<T>, handle: (event: T, name: string) => void): void {
    unsubscribes.push(
      channel.subscribe((event) => {
        // publish() is synchronous: a failure here must never throw into the publishing lib.
        try {
          handle(event, channel.name);
        } catch (err) {
          log.error({ event: channel.name, err }, 'cannot record diagnostics event');
        }
      }),
    );
  }

  on(busChannels.invalid, (e, event) => {
    metrics.configRejected.inc({ kind: e.kind });
    log.warn(
      { event, kind: e.kind, key: e.key, revision: e.revision, errors: e.errors },
      'config value on the bus is invalid; keeping the last good one',
    );
  });
  on(busChannels.disconnect, (e, event) =>
    log.warn({ event, server: e.server }, 'config bus disconnected; serving last known good config'),
  );
  on(busChannels.reconnect, (e, event) => log.info({ event, server: e.server }, 'config bus reconnected'));
  on(busChannels.resync, (e, event) => log.info({ event, ...e }, 'config bus resynced'));
  on(busChannels.error, (e, event) =>
    log.error({ event, where: e.where, err: e.error }, 'config bus background error'),
  );

  on(discoveryChannels.synced, (e, event) => {
    metrics.registryUp.set({ registry: e.registry, type: e.type }, 1);
    log.info({ event, ...e }, 'registry listed');
  });
  on(discoveryChannels.down, (e, event) => {
    metrics.registryUp.set({ registry: e.registry, type: e.type }, 0);
    log.warn(
      { event, registry: e.registry, type: e.type, services: e.services, err: e.error },
      'registry unreachable; keeping its last known endpoints',
    );
  });
  on(discoveryChannels.skipped, (e, event) => {
    metrics.registrySkipped.inc({ registry: e.registry });
    log.warn({ event, ...e }, 'malformed registration skipped');
  });
  on(discoveryChannels.error, (e, event) =>
    log.error({ event, registry: e.registry, err: e.error }, 'discovery background error'),
  );

  on(proxyChannels.configApplied, (e, event) => {
    metrics.configRevision.set(e.revision);
    metrics.configReloads.inc();
    if (e.certificateErrors.length > 0) log.warn({ event, ...e }, 'config applied; some certificates were left out');
    else log.info({ event, ...e }, 'config applied');
  });
  on(proxyChannels.configRejected, (e, event) => {
    metrics.configRejected.inc({ kind: 'snapshot' });
    log.warn({ event, revision: e.revision, err: e.error }, 'config rejected; previous config stays live');
  });

  on(routerChannels.compiled, (e, event) => log.debug({ event, ...e }, 'route table compiled'));

  on(upstreamChannels.ejected, (e, event) => {
    metrics.upstreamEjections.inc({ backend: e.backend });
    log.warn({ event, ...e }, 'endpoint ejected');
  });
  on(upstreamChannels.uneject, (e, event) => log.info({ event, ...e }, 'endpoint back in rotation'));
  on(upstreamChannels.health, (e, event) => {
    const fields = { event, backend: e.backend, endpoint: e.endpoint, healthy: e.healthy, status: e.status };
    if (e.healthy) log.info(fields, 'endpoint passes its health checks again');
    else log.warn({ ...fields, err: e.error }, 'endpoint fails its health checks');
  });
  on(upstreamChannels.connectError, (e, event) => {
    metrics.upstreamConnectErrors.inc({ backend: e.backend });
    log.warn({ event, backend: e.backend, endpoint: e.endpoint, err: e.error }, 'cannot connect to endpoint');
  });
  on(upstreamChannels.panic, (e, event) => {
    upstream.panic(e);
    if (e.panic)
      log.warn({ event, backend: e.backend }, 'every endpoint is unhealthy or ejected; all of them take traffic');
    else log.info({ event, backend: e.backend }, 'panic over: healthy endpoints take the traffic again');
  });
  on(upstreamChannels.endpoints, (e) => upstream.endpoints(e));

  let active = true;
  return () => {
    if (!active) return;
    active = false;
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}
