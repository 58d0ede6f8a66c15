/**
 * `portico standalone | front-proxy | discovery-syncer`: the composition root, the one place several services
 * meet. One start-up path: open the bus, apply --config, start the mode's list of services over shared deps
 * (bus, logger, metrics), print the banner; on a signal, stop them in reverse and close the bus.
 */
import { type ConfigBus, createMemoryBus, createNatsBus } from '@portico/bus';
import { subscribeDiagnostics } from '@portico/diagnostics';
import {
  ClusterMetricsRegistry,
  createLogger,
  createMetricsRegistry,
  flushLogger,
  ProxyMetrics,
} from '@portico/observability';
import { type RunningServices, type ServiceDeps, startServices } from '@portico/runtime';
import type { Output } from '../output.ts';
import { checkPorts, listenUrl } from '../serve/listen.ts';
import { checkMode, explainStartFailure, modeServices, runsProxy, usesWorkers } from '../serve/modes.ts';
import type { Running, ServeOptions } from '../serve/options.ts';
import { runProxyWorker } from '../serve/proxy-worker.ts';
import { applyStartConfig, loadStartConfig } from '../serve/start-config.ts';
import { isProxyWorker } from '../serve/worker-protocol.ts';

export type { Running, ServeOptions } from '../serve/options.ts';

/** The embedded bus, or NATS with --nats. */
function openBus(opts: ServeOptions): Promise<ConfigBus> | ConfigBus {
  return opts.nats === undefined
    ? createMemoryBus()
    : createNatsBus({ servers: opts.nats, name: `portico-${opts.mode}` });
}

/**
 * The process's metrics. With proxy workers, /metrics aggregates the workers (ClusterMetricsRegistry) and adds the
 * primary's own events (the discovery syncer's) where the workers have none.
 */
function metricsFor(opts: ServeOptions): Pick<ServiceDeps, 'registry' | 'metrics'> {
  if (usesWorkers(opts)) {
    const own = createMetricsRegistry();
    return { registry: new ClusterMetricsRegistry(own), metrics: new ProxyMetrics(own) };
  }
  const registry = createMetricsRegistry();
  return { registry, metrics: new ProxyMetrics(registry) };
}

/** Starts the mode; on any failure, closes what already started and rethrows. */
export async function serve(opts: ServeOptions, out: Output): Promise<Running> {
  checkMode(opts);
  checkPorts(opts, runsProxy(opts.mode) || opts.mode === 'transcoder');
  const config = loadStartConfig(opts.config, out);
  const logger = createLogger({ level: opts.logLevel, name: `portico-${opts.mode}` });
  const { registry, metrics } = metricsFor(opts);
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  let bus: ConfigBus | undefined;
  const release = async () => {
    try {
      await bus?.close();
    } catch (err) {
      logger.error({ err }, 'error while closing the config bus');
    }
    unsubscribe();
  };

  try {
    bus = await openBus(opts);
    if (config !== undefined) await applyStartConfig(bus, config, logger);
    let services: RunningServices | undefined;
    const mode = modeServices(opts, () => services?.ready() === true);
    services = await startServices(mode.list, { bus, logger, registry, metrics });

    const proxy = mode.proxy === undefined ? undefined : services.get(mode.proxy);
    const admin = services.get(mode.admin);
    const tls = proxy?.tlsPort === undefined ? '' : ` ${listenUrl('https', opts.proxyHost, proxy.tlsPort)}`;
    const transcoder = mode.transcoder === undefined ? undefined : services.get(mode.transcoder);
    const listening =
      proxy !== undefined
        ? ` proxy ${listenUrl('http', opts.proxyHost, proxy.port)}${tls}`
        : transcoder !== undefined
          ? ` transcoder ${listenUrl('http', opts.proxyHost, transcoder.port)}`
          : '';
    const workers = usesWorkers(opts) ? ` (${opts.workers} workers)` : '';
    out.out(`portico listening:${listening} admin ${listenUrl('http', opts.adminHost, admin.port)}${workers}`);

    const running = services;
    let closing: Promise<void> | undefined;
    return {
      proxyPort: proxy?.port ?? transcoder?.port ?? 0,
      adminPort: admin.port,
      close: () => {
        closing ??= running.close().then(release);
        return closing;
      },
    };
  } catch (err) {
    await release();
    // Log lines are written asynchronously: out first, so the error the caller prints is the last line.
    await flushLogger(logger);
    throw explainStartFailure(err, opts);
  }
}

/**
 * Runs until SIGINT or SIGTERM, then closes gracefully (a second signal exits at once). The handlers are in place
 * before anything starts: the banner tells a supervisor it may signal, and a signal during start-up closes the
 * services once they are up.
 */
export async function serveUntilSignal(opts: ServeOptions, out: Output): Promise<number> {
  // A proxy worker runs the same command line as its primary.
  if (isProxyWorker()) return runProxyWorker();
  const signalled = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      out.err(`portico: ${signal}, shutting down`);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const running = await serve(opts, out);
  await signalled;
  await running.close();
  return 0;
}
