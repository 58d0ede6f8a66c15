import type { Duplex } from 'node:stream';
import type { UpstreamError } from '../errors.ts';
import type { Headers } from '../types.ts';
import {
  type Attempt,
  type AttemptHandler,
  type AttemptInterceptor,
  type ClusterContext,
  type Controller,
  ForwardingHandler,
} from './chain.ts';

/** Feeds every attempt's outcome (status, connect failure, reset, timeout) to the cluster's outlier detection. */
export function outlier(cluster: ClusterContext): AttemptInterceptor {
  // Without outlier detection there is nothing to feed: skip the wrapper (the request path pays per layer).
  return (next) => (attempt, handler) =>
    next(attempt, cluster.outlierDetection ? new OutlierHandler(cluster, attempt, handler) : handler);
}

class OutlierHandler extends ForwardingHandler {
  readonly #cluster: ClusterContext;
  readonly #attempt: Attempt;

  constructor(cluster: ClusterContext, attempt: Attempt, next: AttemptHandler) {
    super(next);
    this.#cluster = cluster;
    this.#attempt = attempt;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    const endpoint = this.#attempt.endpoint;
    if (endpoint !== undefined) this.#cluster.onStatus(endpoint, statusCode);
    this.next.onResponseStart(controller, statusCode, headers);
  }

  override onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    const endpoint = this.#attempt.endpoint;
    if (endpoint !== undefined) this.#cluster.onStatus(endpoint, statusCode);
    this.next.onRequestUpgrade(controller, statusCode, headers, socket);
  }

  override onResponseError(err: UpstreamError): void {
    const endpoint = this.#attempt.endpoint;
    if (endpoint !== undefined) {
      if (err.connectFailure) this.#cluster.onConnectFailure(endpoint);
      // resets and timeouts count like the 502/504 they become; a client going away says nothing about the endpoint
      else if (err.code === 'PORTICO_ERR_UPSTREAM_RESET' || err.code === 'PORTICO_ERR_UPSTREAM_TIMEOUT')
        this.#cluster.onStatus(endpoint, err.status);
    }
    this.next.onResponseError(err);
  }
}
