/**
 * `portico standalone` and `portico front-proxy`: the composition root that wires bus, proxy, admin API and
 * observability together (the one place several services meet).
 */
import { applyResources, startAdminApi } from '@portico/admin-api';
import { type ConfigBus, createMemoryBus, createNatsBus } from '@portico/bus';
import { startDiscoverySyncer } from '@portico/discovery-syncer';
import { startFrontProxy } from '@portico/front-proxy';
import {
  createLogger,
  createMetricsRegistry,
  flushLogger,
  ProxyMetrics,
  subscribeDiagnostics,
} from '@portico/observability';
import { CliConfigError, CliListenError, CliUsageError, type ListenerName } from '../errors.ts';
import { formatError, loadFiles } from '../load.ts';
import type { Output } from '../output.ts';
import type { ProxyTuning } from '../proxy-options.ts';

export interface ServeOptions {
  mode: 'standalone' | 'front-proxy' | 'discovery-syncer';
  config?: string | undefined;
  nats?: string | undefined;
  proxyPort: number;
  /** The proxy's bind address (HTTP and TLS). */
  proxyHost: string;
  adminPort: number;
  adminHost: string;
  tlsPort?: number | undefined;
  logLevel: string;
  /** Proxy worker processes; 1 runs everything in this process. */
  workers?: number | undefined;
  /** --trusted-proxies and --proxy-option values, checked by the proxy itself. */
  proxyTuning?: ProxyTuning | undefined;
  /** --admin-allowed-host: names the admin API answers besides loopback and its bound address. */
  adminAllowedHosts?: string[] | undefined;
}

export interface Running {
  proxyPort: number;
  adminPort: number;
  close(): Promise<void>;
}

/** Reads --config before anything listens: a broken file stops the start instead of serving half of it. */
export function loadStartConfig(opts: ServeOptions, out: Output): ReturnType<typeof loadFiles> | undefined {
  const loaded = opts.config === undefined ? undefined : loadFiles([opts.config]);
  if (loaded !== undefined && loaded.errors.length > 0) {
    for (const e of loaded.errors) out.err(formatError(e));
    throw new CliConfigError(`${opts.config} has ${loaded.errors.length} error(s); not starting`);
  }
  return loaded;
}

const PROXY: ListenerName = { name: 'proxy', portFlag: '--proxy-port', hostFlag: '--proxy-host' };
const TLS: ListenerName = { name: 'tls', portFlag: '--tls-port', hostFlag: '--proxy-host' };
const ADMIN: ListenerName = { name: 'admin', portFlag: '--admin-port', hostFlag: '--admin-host' };

/** Two listeners on one port would fail as "in use" while naming the wrong one: refuse it as a usage error. */
export function checkPorts(opts: ServeOptions): void {
  const ports: Array<[string, number | undefined]> = [
    ['--proxy-port', opts.mode === 'discovery-syncer' ? undefined : opts.proxyPort],
    ['--tls-port', opts.tlsPort],
    ['--admin-port', opts.adminPort],
  ];
  for (const [i, [flag, port]] of ports.entries())
    for (const [other, otherPort] of ports.slice(i + 1))
      if (port !== undefined && port !== 0 && port === otherPort)
        throw new CliUsageError(`${flag} and ${other} are both ${port}; each listener needs its own port`);
}

/** Maps a bind failure of the proxy's listeners to the one-line error naming the flag to change. */
export function proxyListenError(err: unknown, opts: Pick<ServeOptions, 'tlsPort'>): unknown {
  // startFrontProxy names a bad --proxy-option or --trusted-proxies value in a TypeError.
  if (err instanceof TypeError) return new CliUsageError(err.message);
  if (!CliListenError.explains(err)) return err;
  const tls = opts.tlsPort !== undefined && opts.tlsPort !== 0 && err.port === opts.tlsPort;
  return new CliListenError(err, tls ? TLS : PROXY, err);
}

export function adminListenError(err: unknown): unknown {
  return CliListenError.explains(err) ? new CliListenError(err, ADMIN, err) : err;
}

/** A URL for the banner: the address actually bound (0.0.0.0 means every interface), IPv6 in brackets. */
export function listenUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The embedded bus, or NATS with --nats. */
export function openBus(opts: ServeOptions): Promise<ConfigBus> | ConfigBus {
  return opts.nats === undefined
    ? createMemoryBus()
    : createNatsBus({ servers: opts.nats, name: `portico-${opts.mode}` });
}

/** Starts everything; on any failure, closes what already started and rethrows. */
export async function serve(opts: ServeOptions, out: Output): Promise<Running> {
  if (opts.mode !== 'standalone' && opts.nats === undefined)
    throw new CliUsageError(`${opts.mode} needs --nats URL (or PORTICO_NATS_URL)`);
  checkPorts(opts);
  if ((opts.workers ?? 1) > 1) {
    const { servePrimary } = await import('./workers.ts');
    return servePrimary({ ...opts, workers: opts.workers! }, out);
  }
  const logger = createLogger({ level: opts.logLevel, name: `portico-${opts.mode}` });
  const registry = createMetricsRegistry();
  const metrics = new ProxyMetrics(registry);
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  let proxyClose: (() => Promise<void>) | undefined;
  // Closed last-started first, except that the proxy stops before the admin API: traffic drains while
  // /readyz and /metrics still answer.
  const closers: Array<() => Promise<void>> = [async () => unsubscribe()];
  const closeAll = async () => {
    const order = closers.splice(0).reverse();
    if (proxyClose !== undefined) order.unshift(...order.splice(order.indexOf(proxyClose), 1));
    for (const close of order) {
      try {
        await close();
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
      }
    }
  };

  try {
    const loaded = loadStartConfig(opts, out);
    const bus = await openBus(opts);
    closers.push(() => bus.close());
    if (loaded !== undefined) {
      const results = await applyResources(bus, loaded.resources);
      logger.info(
        { config: opts.config, results: results.map((r) => `${r.kind.toLowerCase()}/${r.name} ${r.result}`) },
        'config applied',
      );
    }

    if (opts.mode !== 'front-proxy') {
      const syncer = await startDiscoverySyncer({ bus });
      closers.push(() => syncer.close());
    }

    const proxy =
      opts.mode === 'discovery-syncer'
        ? undefined
        : await startFrontProxy({
            bus,
            port: opts.proxyPort,
            host: opts.proxyHost,
            ...(opts.tlsPort === undefined ? {} : { tlsPort: opts.tlsPort }),
            logger,
            metrics,
            ...opts.proxyTuning,
          }).catch((err: unknown) => {
            throw proxyListenError(err, opts);
          });
    if (proxy !== undefined) {
      proxyClose = () => proxy.close();
      closers.push(proxyClose);
    }

    const admin = await startAdminApi({
      bus,
      port: opts.adminPort,
      host: opts.adminHost,
      allowedHosts: opts.adminAllowedHosts ?? [],
      registry,
      // The syncer is ready once it has started (it read the Registry resources).
      isReady: () => proxy?.isReady() ?? true,
      logger,
    }).catch((err: unknown) => {
      throw adminListenError(err);
    });
    closers.push(() => admin.close());

    const tls = proxy?.tlsPort === undefined ? '' : ` ${listenUrl('https', opts.proxyHost, proxy.tlsPort)}`;
    const listening = proxy === undefined ? '' : ` proxy ${listenUrl('http', opts.proxyHost, proxy.port)}${tls}`;
    out.out(`portico listening:${listening} admin ${listenUrl('http', opts.adminHost, admin.port)}`);
    let closing: Promise<void> | undefined;
    return {
      proxyPort: proxy?.port ?? 0,
      adminPort: admin.port,
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    // Log lines are written asynchronously: out first, so the error the caller prints is the last line.
    await flushLogger(logger);
    throw err;
  }
}

/** Runs until SIGINT or SIGTERM, then closes gracefully (a second signal exits at once). */
export async function serveUntilSignal(opts: ServeOptions, out: Output): Promise<number> {
  const { isProxyWorker, runProxyWorker } = await import('./workers.ts');
  if (isProxyWorker()) return runProxyWorker();
  const running = await serve(opts, out);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      out.err(`portico: ${signal}, shutting down`);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await running.close();
  return 0;
}
