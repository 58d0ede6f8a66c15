import type { Duplex } from 'node:stream';
import { type UpstreamError, UpstreamTimeoutError } from '../errors.ts';
import type { Headers } from '../types.ts';
import {
  type Attempt,
  type AttemptHandler,
  type AttemptInterceptor,
  type ClusterContext,
  type Controller,
  ForwardingHandler,
} from './chain.ts';

/**
 * Per-attempt `backendTimeoutMs`: time from dispatch to response headers (queueing and connecting included).
 * On expiry the caller gets a 504 at once and the attempt is cancelled underneath.
 */
export function timeout(cluster: ClusterContext): AttemptInterceptor {
  return (next) => (attempt, handler) => {
    const ms = attempt.req.backendTimeoutMs;
    if (ms === undefined || ms <= 0) return next(attempt, handler);
    next(attempt, new TimeoutHandler(cluster, attempt, handler, ms));
  };
}

class TimeoutHandler extends ForwardingHandler {
  readonly #cluster: ClusterContext;
  readonly #attempt: Attempt;
  readonly #ms: number;
  readonly #timer: NodeJS.Timeout;
  #fired = false;

  constructor(cluster: ClusterContext, attempt: Attempt, next: AttemptHandler, ms: number) {
    super(next);
    this.#cluster = cluster;
    this.#attempt = attempt;
    this.#ms = ms;
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#fired = true;
    this.#cluster.stats.timeouts++;
    const err = new UpstreamTimeoutError(
      { cluster: this.#cluster.name, endpoint: this.#attempt.endpoint?.key },
      this.#ms,
      'response headers',
    );
    this.next.onResponseError(err);
    this.#attempt.abort(err);
  }

  override onRequestStart(controller: Controller): void {
    if (!this.#fired) this.next.onRequestStart(controller);
  }
  override onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    clearTimeout(this.#timer);
    if (!this.#fired) this.next.onResponseStart(controller, statusCode, headers);
  }
  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.#fired) this.next.onResponseData(controller, chunk);
  }
  override onResponseEnd(controller: Controller, trailers: Headers): void {
    if (!this.#fired) this.next.onResponseEnd(controller, trailers);
  }
  override onResponseError(err: UpstreamError): void {
    clearTimeout(this.#timer);
    if (!this.#fired) this.next.onResponseError(err);
  }
  override onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    clearTimeout(this.#timer);
    if (this.#fired) socket.destroy();
    else this.next.onRequestUpgrade(controller, statusCode, headers, socket);
  }
}
