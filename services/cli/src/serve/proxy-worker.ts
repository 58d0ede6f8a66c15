/**
 * A proxy worker process: the front-proxy service on a read-only replica bus that the primary feeds over IPC,
 * bound with SO_REUSEPORT beside its siblings. It stops when the primary disconnects it (or dies), or on SIGTERM;
 * once the proxy has closed it leaves the IPC channel, its last handle, so the process exits by itself.
 */
import cluster from 'node:cluster';
import { createReplicaBus, isReplicaMessage } from '@portico/bus';
import { subscribeDiagnostics } from '@portico/diagnostics';
import { frontProxyService, type RunningFrontProxy } from '@portico/front-proxy';
import { createLogger, createMetricsRegistry, ProxyMetrics, shareWorkerMetrics } from '@portico/observability';
import { type BindFailure, CliListenError } from '../errors.ts';
import { WORKER_ENV, type WorkerFailed, type WorkerListening, type WorkerOptions } from './worker-protocol.ts';

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
  let proxy: RunningFrontProxy;
  try {
    proxy = await frontProxyService.start({
      bus: replica.bus,
      logger,
      registry,
      metrics,
      port: opts.port,
      host: opts.host,
      ...(opts.tlsPort === undefined ? {} : { tlsPort: opts.tlsPort }),
      reusePort: true,
      ...opts.tuning,
    });
  } catch (err) {
    unsubscribe();
    // The primary reports it (one line for a bind failure or a refused setting) and stops every worker.
    const e = err as Error & BindFailure;
    const failed: WorkerFailed = {
      type: 'portico:worker-failed',
      message: e?.message ?? String(err),
      failure: CliListenError.explains(e)
        ? { code: e.code, syscall: e.syscall, port: e.port, address: e.address, hostname: e.hostname }
        : undefined,
      usage: err instanceof TypeError,
    };
    process.send?.(failed, () => leaveCluster());
    return 1;
  }
  const listening: WorkerListening = { type: 'portico:worker-listening', port: proxy.port, tlsPort: proxy.tlsPort };
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
