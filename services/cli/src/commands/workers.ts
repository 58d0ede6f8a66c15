/**
 * `--workers N`: one primary and N proxy worker processes (node:cluster). The primary owns the config bus
 * (memory or NATS), the admin API and the aggregated /metrics; it sends every config state to the workers over
 * IPC. Each worker runs a front proxy on a read-only replica bus and binds the shared ports with SO_REUSEPORT,
 * so the kernel spreads connections and the primary stays out of the request path.
 */
import cluster, { type Worker } from 'node:cluster';
import { applyResources, startAdminApi } from '@portico/admin-api';
import { createReplicaBus, isReplicaMessage, type ReplicaMessage, replicaMessage } from '@portico/bus';
import { startFrontProxy } from '@portico/front-proxy';
import {
  ClusterMetricsRegistry,
  createLogger,
  createMetricsRegistry,
  ProxyMetrics,
  shareWorkerMetrics,
  subscribeDiagnostics,
} from '@portico/observability';
import type { Output } from '../output.ts';
import { loadStartConfig, openBus, type Running, type ServeOptions } from './serve.ts';

const WORKER_ENV = 'PORTICO_PROXY_WORKER';

interface Listening {
  type: 'portico:worker-listening';
  port: number;
  tlsPort: number | undefined;
}

export function isProxyWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}

/** The worker side: a front proxy fed by the primary. Exits when told to stop. */
export async function runProxyWorker(): Promise<number> {
  const opts = JSON.parse(process.env[WORKER_ENV]!) as { port: number; tlsPort?: number; logLevel: string };
  const logger = createLogger({ level: opts.logLevel, name: `portico-worker-${cluster.worker?.id}` });
  const registry = createMetricsRegistry();
  const metrics = new ProxyMetrics(registry);
  shareWorkerMetrics(registry);
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  const replica = createReplicaBus();
  process.on('message', (message: unknown) => {
    if (isReplicaMessage(message)) replica.apply(message);
  });
  const proxy = await startFrontProxy({
    bus: replica.bus,
    port: opts.port,
    ...(opts.tlsPort === undefined ? {} : { tlsPort: opts.tlsPort }),
    reusePort: true,
    logger,
    metrics,
  });
  const listening: Listening = { type: 'portico:worker-listening', port: proxy.port, tlsPort: proxy.tlsPort };
  process.send?.(listening);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('disconnect', () => resolve());
  });
  await proxy.close();
  unsubscribe();
  return 0;
}

/** The primary side. */
export async function servePrimary(opts: ServeOptions & { workers: number }, out: Output): Promise<Running> {
  const logger = createLogger({ level: opts.logLevel, name: `portico-${opts.mode}` });
  const registry = new ClusterMetricsRegistry();
  const ownMetrics = new ProxyMetrics(createMetricsRegistry());
  const unsubscribe = subscribeDiagnostics({ logger, metrics: ownMetrics });

  const loaded = loadStartConfig(opts, out);
  const bus = await openBus(opts);
  if (loaded !== undefined) await applyResources(bus, loaded.resources);

  let latest: ReplicaMessage | undefined;
  const workers = new Set<Worker>();
  const watch = await bus.watch((state) => {
    latest = replicaMessage(state);
    for (const w of workers) if (w.isConnected()) w.send(latest);
  });

  let stopping = false;
  let ports: { port: number; tlsPort: number | undefined } | undefined;
  const ready = new Set<Worker>();
  const fork = (port: number, tlsPort: number | undefined): Promise<Listening> => {
    const env = JSON.stringify({ port, ...(tlsPort === undefined ? {} : { tlsPort }), logLevel: opts.logLevel });
    const worker = cluster.fork({ [WORKER_ENV]: env });
    workers.add(worker);
    worker.on('online', () => latest && worker.send(latest));
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      ready.delete(worker);
      if (stopping) return;
      // A crashed worker is replaced on the same ports; the others keep serving meanwhile.
      logger.error({ worker: worker.id, code, signal }, 'proxy worker exited; starting a new one');
      if (ports !== undefined)
        void fork(ports.port, ports.tlsPort).catch((err) => logger.error({ err }, 'respawn failed'));
    });
    return new Promise((resolve, reject) => {
      worker.on('message', (m: Listening) => {
        if (m?.type !== 'portico:worker-listening') return;
        ready.add(worker);
        resolve(m);
      });
      worker.once('exit', (code) => reject(new Error(`proxy worker exited with ${code} before listening`)));
    });
  };

  // The first worker settles port 0 into a real port; the others bind the same one.
  const first = await fork(opts.proxyPort, opts.tlsPort);
  ports = { port: first.port, tlsPort: first.tlsPort };
  await Promise.all(Array.from({ length: opts.workers - 1 }, () => fork(first.port, first.tlsPort)));

  const admin = await startAdminApi({
    bus,
    port: opts.adminPort,
    ...(opts.adminHost === undefined ? {} : { host: opts.adminHost }),
    registry,
    isReady: () => !stopping && ready.size > 0,
    logger,
  });
  const tls = first.tlsPort === undefined ? '' : ` https://127.0.0.1:${first.tlsPort}`;
  out.out(
    `portico listening: proxy http://127.0.0.1:${first.port}${tls} admin http://127.0.0.1:${admin.port} (${opts.workers} workers)`,
  );

  let closing: Promise<void> | undefined;
  return {
    proxyPort: first.port,
    adminPort: admin.port,
    close: () => {
      closing ??= (async () => {
        stopping = true;
        const exits = [...workers].map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
        for (const w of workers) w.process.kill('SIGTERM');
        await Promise.all(exits);
        await admin.close();
        watch.stop();
        await bus.close();
        unsubscribe();
      })();
      return closing;
    },
  };
}
