/**
 * What the primary and a proxy worker process say to each other: the worker's settings (an environment variable
 * set by cluster.fork) and the messages a worker sends back over IPC. Config travels as the bus's replica messages.
 */
import cluster from 'node:cluster';
import type { BindFailure } from '../errors.ts';
import type { ProxyTuning } from '../proxy-options.ts';

export const WORKER_ENV = 'PORTICO_PROXY_WORKER';

export interface WorkerOptions {
  port: number;
  host: string;
  tlsPort?: number;
  logLevel: string;
  tuning?: ProxyTuning | undefined;
}

export interface WorkerListening {
  type: 'portico:worker-listening';
  port: number;
  tlsPort: number | undefined;
}

/**
 * A worker could not start its proxy. `failure` is set for a bind failure the CLI explains in one line;
 * `usage` for a setting the proxy refused (a TypeError naming it).
 */
export interface WorkerFailed {
  type: 'portico:worker-failed';
  message: string;
  failure: BindFailure | undefined;
  usage: boolean;
}

export type WorkerMessage = WorkerListening | WorkerFailed;

/** True in a process the primary forked to run a proxy. */
export function isProxyWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}
