/**
 * `--workers N`: the proxy as N worker processes (node:cluster), as one service of the primary. It sends every
 * config state of the primary's bus to the workers over IPC; each worker runs the front-proxy service on a replica
 * bus and binds the shared ports with SO_REUSEPORT, so the kernel spreads connections and the primary stays out of
 * the request path. A worker that dies while serving is replaced on the same ports. The workers' metrics reach
 * /metrics through the primary's ClusterMetricsRegistry (the registry in the deps).
 */
import cluster, { type Worker } from 'node:cluster';
import { type ReplicaMessage, replicaMessage } from '@portico/bus';
import type { RunningService, Service } from '@portico/runtime';
import type { ProxyTuning } from '../proxy-options.ts';
import { WORKER_ENV, type WorkerListening, type WorkerMessage, type WorkerOptions } from './worker-protocol.ts';

/**
 * How long the primary waits for a stopping worker before SIGKILL: the proxy drains in-flight requests for up to
 * 10 s (FrontProxyOptions.drainMs), plus time to exit.
 */
const WORKER_STOP_GRACE_MS = 15_000;

export interface ProxyWorkersOptions {
  workers: number;
  port: number;
  host: string;
  tlsPort?: number | undefined;
  logLevel: string;
  tuning?: ProxyTuning | undefined;
}

export interface RunningProxyWorkers extends RunningService {
  /** The HTTP port every worker binds (port 0 settled by the first worker). */
  readonly port: number;
  readonly tlsPort: number | undefined;
}

/** A worker's failed start as the error the proxy would have thrown in-process (a bind failure keeps its fields). */
function workerStartError(m: Extract<WorkerMessage, { type: 'portico:worker-failed' }>): Error {
  if (m.usage) return new TypeError(m.message);
  return Object.assign(new Error(`proxy worker could not start: ${m.message}`), m.failure);
}

export const proxyWorkersService: Service<ProxyWorkersOptions, RunningProxyWorkers> = {
  name: 'proxy-workers',
  async start({ bus, logger, ...opts }) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new TypeError(`workers must be a whole number of at least 1, got ${opts.workers}`);
    let stopping = false;
    const workers = new Set<Worker>();
    const ready = new Set<Worker>();

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

    let latest: ReplicaMessage | undefined;
    const watch = await bus.watch((state) => {
      latest = replicaMessage(state);
      for (const w of workers) if (w.isConnected()) w.send(latest);
    });

    let ports: { port: number; tlsPort: number | undefined } | undefined;
    const fork = (port: number, tlsPort: number | undefined): Promise<WorkerListening> => {
      const env: WorkerOptions = {
        port,
        host: opts.host,
        ...(tlsPort === undefined ? {} : { tlsPort }),
        logLevel: opts.logLevel,
        tuning: opts.tuning,
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
            reject(workerStartError(m));
          }
        });
        worker.once('exit', (code, signal) =>
          reject(new Error(`proxy worker exited (${signal ?? `code ${code}`}) before listening`)),
        );
      });
    };

    try {
      // The first worker settles port 0 into a real port; the others bind the same one.
      const first = await fork(opts.port, opts.tlsPort);
      ports = { port: first.port, tlsPort: first.tlsPort };
      await Promise.all(Array.from({ length: opts.workers - 1 }, () => fork(first.port, first.tlsPort)));
    } catch (err) {
      await stopWorkers();
      watch.stop();
      throw err;
    }

    let closing: Promise<void> | undefined;
    return {
      port: ports.port,
      tlsPort: ports.tlsPort,
      ready: () => !stopping && ready.size > 0,
      close() {
        closing ??= stopWorkers().then(() => watch.stop());
        return closing;
      },
    };
  },
};
