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
 * Per-attempt `backendTimeoutMs`, until response headers: it runs while the request waits for a connection, stops
 * while a request body is uploading (a slow client must not become the endpoint's timeout, counted as a 504 by
 * outlier detection) and runs again, whole, from the moment the request is fully sent. On expiry the caller gets
 * a 504 at once and the attempt is cancelled underneath.
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
  /** Request started with a body not yet all sent: expiry is ignored, onRequestSent re-arms the timer. */
  #uploading = false;
  #responded = false;

  constructor(cluster: ClusterContext, attempt: Attempt, next: AttemptHandler, ms: number) {
    super(next);
    this.#cluster = cluster;
    this.#attempt = attempt;
    this.#ms = ms;
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    if (this.#uploading || this.#responded) return;
    this.#fired = true;
    const err = new UpstreamTimeoutError(
      { cluster: this.#cluster.name, endpoint: this.#attempt.endpoint?.key },
      this.#ms,
      'response headers',
    );
    this.next.onResponseError(err);
    this.#attempt.abort(err);
  }

  #stop(): void {
    this.#responded = true;
    clearTimeout(this.#timer);
  }

  override onRequestStart(controller: Controller): void {
    if (this.#fired) return;
    if (this.#attempt.req.body !== null) this.#uploading = true;
    this.next.onRequestStart(controller);
  }
  override onRequestSent(): void {
    if (this.#uploading) {
      this.#uploading = false;
      // refresh() re-arms the same timer for the full time, also when it expired during the upload
      if (!this.#responded && !this.#fired) this.#timer.refresh();
    }
    if (!this.#fired) this.next.onRequestSent();
  }
  override onInformational(controller: Controller, statusCode: number, headers: Headers): void {
    // a 1xx is not the response: the timer runs on until the final headers
    if (!this.#fired) this.next.onInformational(controller, statusCode, headers);
  }
  override onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    this.#stop();
    if (!this.#fired) this.next.onResponseStart(controller, statusCode, headers);
  }
  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.#fired) this.next.onResponseData(controller, chunk);
  }
  override onResponseEnd(controller: Controller, trailers: Headers): void {
    if (!this.#fired) this.next.onResponseEnd(controller, trailers);
  }
  override onResponseError(err: UpstreamError): void {
    this.#stop();
    if (!this.#fired) this.next.onResponseError(err);
  }
  override onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#stop();
    if (this.#fired) socket.destroy();
    else this.next.onRequestUpgrade(controller, statusCode, headers, socket);
  }
}
