/**
 * `--workers N`: one primary and N proxy worker processes (node:cluster). The primary owns the config bus
 * (memory or NATS), the admin API and the aggregated /metrics; it sends every config state to the workers over
 * IPC. Each worker runs a front proxy on a read-only replica bus and binds the shared ports with SO_REUSEPORT,
 * so the kernel spreads connections and the primary stays out of the request path.
 */
import cluster, { type Worker } from 'node:cluster';
import { applyResources, startAdminApi } from '@portico/admin-api';
import { createReplicaBus, isReplicaMessage, type ReplicaMessage, replicaMessage } from '@portico/bus';
import { type FrontProxy, startFrontProxy } from '@portico/front-proxy';
import {
  ClusterMetricsRegistry,
  createLogger,
  createMetricsRegistry,
  flushLogger,
  ProxyMetrics,
  shareWorkerMetrics,
  subscribeDiagnostics,
} from '@portico/observability';
import { type BindFailure, CliListenError } from '../errors.ts';
import type { Output } from '../output.ts';
import type { ProxyTuning } from '../proxy-options.ts';
import {
  adminListenError,
  listenUrl,
  loadStartConfig,
  openBus,
  proxyListenError,
  type Running,
  type ServeOptions,
} from './serve.ts';

const WORKER_ENV = 'PORTICO_PROXY_WORKER';
/**
 * How long the primary waits for a stopping worker before SIGKILL: the proxy drains in-flight requests for up to
 * 10 s (FrontProxyOptions.drainMs), plus time to exit.
 */
const WORKER_STOP_GRACE_MS = 15_000;

interface WorkerOptions {
  port: number;
  host: string;
  tlsPort?: number;
  logLevel: string;
  tuning?: ProxyTuning | undefined;
}

interface Listening {
  type: 'portico:worker-listening';
  port: number;
  tlsPort: number | undefined;
}

/** A worker could not start its proxy; `failure` is set for a bind failure the CLI explains in one line. */
interface Failed {
  type: 'portico:worker-failed';
  message: string;
  failure: BindFailure | undefined;
}

type WorkerMessage = Listening | Failed;

export function isProxyWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}

/**
 * The worker side: a front proxy fed by the primary. It stops when the primary disconnects it (or dies), or on
 * SIGTERM; once the proxy has closed it leaves the IPC channel, its last handle, so the process exits by itself.
 */
export async function runProxyWorker(): Promise<number> {
  const opts = JSON.parse(process.env[WORKER_ENV]!) as WorkerOptions;
  const logger = createLogger({ level: opts.logLevel, name: `portico-worker-${cluster.worker?.id}` });
  const registry = createMetricsRegistry();
  const metrics = new ProxyMetrics(registry);
  shareWorkerMetrics(registry);
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  const replica = createReplicaBus();
  process.on('message', (message: unknown) => {
    if (isReplicaMessage(message)) replica.apply(message);
  });
  // The worker and the primary may both close the channel at once (a worker that failed leaves while the primary
  // stops everyone): the second close is an 'error' event here that would otherwise end the process with a trace.
  cluster.worker?.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ERR_IPC_DISCONNECTED' && err.code !== 'ERR_IPC_CHANNEL_CLOSED')
      logger.warn({ err }, 'proxy worker IPC error');
  });
  // Listened for before the proxy starts: a primary stopping while this worker is still starting (a replacement
  // forked just before a SIGTERM) disconnects it then, and a 'disconnect' missed here would leave it serving forever.
  let stopping = false;
  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      resolve();
    };
    process.once('disconnect', stop);
    // A second signal while draining means "now", as in the primary.
    process.on('SIGTERM', () => (stopping ? process.exit(143) : stop()));
    // Ctrl-C reaches the whole process group: the primary stops the workers itself, in order, and would
    // otherwise race a worker that exits first (and be tempted to replace it).
    process.on('SIGINT', () => stopping && process.exit(130));
    if (!process.connected) stop();
  });
  let proxy: FrontProxy;
  try {
    proxy = await startFrontProxy({
      bus: replica.bus,
      port: opts.port,
      host: opts.host,
      ...(opts.tlsPort === undefined ? {} : { tlsPort: opts.tlsPort }),
      reusePort: true,
      logger,
      metrics,
      ...opts.tuning,
    });
  } catch (err) {
    unsubscribe();
    // The primary reports it (one line for a bind failure) and stops every worker.
    const e = err as Error & BindFailure;
    const failed: Failed = {
      type: 'portico:worker-failed',
      message: e?.message ?? String(err),
      failure: CliListenError.explains(e)
        ? { code: e.code, syscall: e.syscall, port: e.port, address: e.address, hostname: e.hostname }
        : undefined,
    };
    process.send?.(failed, () => leaveCluster());
    return 1;
  }
  const listening: Listening = { type: 'portico:worker-listening', port: proxy.port, tlsPort: proxy.tlsPort };
  process.send?.(listening);

  await stopRequested;
  await proxy.close();
  unsubscribe();
  leaveCluster();
  return 0;
}

/** Closes the IPC channel (telling the primary the exit is deliberate); a no-op once the primary is gone. */
function leaveCluster(): void {
  if (process.connected) cluster.worker?.disconnect();
}

/** The primary side. */
export async function servePrimary(opts: ServeOptions & { workers: number }, out: Output): Promise<Running> {
  const logger = createLogger({ level: opts.logLevel, name: `portico-${opts.mode}` });
  const registry = new ClusterMetricsRegistry();
  const ownMetrics = new ProxyMetrics(createMetricsRegistry());
  const unsubscribe = subscribeDiagnostics({ logger, metrics: ownMetrics });

  let bus: Awaited<ReturnType<typeof openBus>> | undefined;
  let watch: { stop(): void } | undefined;
  let stopping = false;
  const workers = new Set<Worker>();

  /** Disconnects every worker (each drains, then exits) and waits for all to exit; SIGKILL after the grace time. */
  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    const exits = [...workers].map(
      (w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
    );
    for (const w of workers) if (w.isConnected()) w.disconnect();
    const timer = setTimeout(() => {
      for (const w of workers) {
        logger.warn({ worker: w.id, graceMs: WORKER_STOP_GRACE_MS }, 'proxy worker did not stop in time; killing it');
        w.process.kill('SIGKILL');
      }
    }, WORKER_STOP_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(timer);
  };
  const closeRest = async (): Promise<void> => {
    watch?.stop();
    await bus?.close();
    unsubscribe();
  };

  try {
    const loaded = loadStartConfig(opts, out);
    bus = await openBus(opts);
    if (loaded !== undefined) await applyResources(bus, loaded.resources);

    let latest: ReplicaMessage | undefined;
    watch = await bus.watch((state) => {
      latest = replicaMessage(state);
      for (const w of workers) if (w.isConnected()) w.send(latest);
    });

    let ports: { port: number; tlsPort: number | undefined } | undefined;
    const ready = new Set<Worker>();
    const fork = (port: number, tlsPort: number | undefined): Promise<Listening> => {
      const env: WorkerOptions = {
        port,
        host: opts.proxyHost,
        ...(tlsPort === undefined ? {} : { tlsPort }),
        logLevel: opts.logLevel,
        tuning: opts.proxyTuning,
      };
      const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(env) });
      workers.add(worker);
      // A worker leaving by itself while the primary disconnects it too makes cluster's ack hit a closed pipe.
      worker.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE' && err.code !== 'ERR_IPC_CHANNEL_CLOSED')
          logger.warn({ err, worker: worker.id }, 'proxy worker IPC error');
      });
      worker.on('online', () => latest && worker.isConnected() && worker.send(latest));
      worker.on('exit', (code, signal) => {
        workers.delete(worker);
        // Only a worker that was serving is replaced; one that failed to start is reported by its fork().
        if (!ready.delete(worker) || stopping) return;
        // A crashed worker is replaced on the same ports; the others keep serving meanwhile.
        logger.error({ worker: worker.id, code, signal }, 'proxy worker exited; starting a new one');
        if (ports !== undefined)
          void fork(ports.port, ports.tlsPort).catch((err) => logger.error({ err }, 'respawn failed'));
      });
      return new Promise((resolve, reject) => {
        worker.on('message', (m: WorkerMessage) => {
          if (m?.type === 'portico:worker-listening') {
            ready.add(worker);
            resolve(m);
          } else if (m?.type === 'portico:worker-failed') {
            reject(
              m.failure === undefined
                ? new Error(`proxy worker could not start: ${m.message}`)
                : proxyListenError(m.failure, opts),
            );
          }
        });
        worker.once('exit', (code, signal) =>
          reject(new Error(`proxy worker exited (${signal ?? `code ${code}`}) before listening`)),
        );
      });
    };

    // The first worker settles port 0 into a real port; the others bind the same one.
    const first = await fork(opts.proxyPort, opts.tlsPort);
    ports = { port: first.port, tlsPort: first.tlsPort };
    await Promise.all(Array.from({ length: opts.workers - 1 }, () => fork(first.port, first.tlsPort)));

    const admin = await startAdminApi({
      bus,
      port: opts.adminPort,
      host: opts.adminHost,
      allowedHosts: opts.adminAllowedHosts ?? [],
      registry,
      isReady: () => !stopping && ready.size > 0,
      logger,
    }).catch((err: unknown) => {
      throw adminListenError(err);
    });
    const tls = first.tlsPort === undefined ? '' : ` ${listenUrl('https', opts.proxyHost, first.tlsPort)}`;
    out.out(
      `portico listening: proxy ${listenUrl('http', opts.proxyHost, first.port)}${tls} admin ${listenUrl('http', opts.adminHost, admin.port)} (${opts.workers} workers)`,
    );

    let closing: Promise<void> | undefined;
    return {
      proxyPort: first.port,
      adminPort: admin.port,
      close: () => {
        closing ??= (async () => {
          await stopWorkers();
          await admin.close();
          await closeRest();
        })();
        return closing;
      },
    };
  } catch (err) {
    await stopWorkers();
    await closeRest();
    await flushLogger(logger);
    throw err;
  }
}
