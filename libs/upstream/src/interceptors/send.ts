import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { upstreamChannels } from '../channels.ts';
import type { UpstreamEndpoint } from '../endpoint.ts';
import {
  UpstreamClientBodyError,
  UpstreamConnectError,
  UpstreamError,
  type UpstreamErrorWhere,
  UpstreamNoEndpointsError,
  UpstreamRequestError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from '../errors.ts';
import type { Headers } from '../types.ts';
import type { Attempt, AttemptDispatch, AttemptHandler, ClusterContext, Controller } from './chain.ts';

/** The innermost step: pick an endpoint and dispatch on its pool, streaming both ways. */
export function send(cluster: ClusterContext): AttemptDispatch {
  return (attempt, handler) => {
    const req = attempt.req;
    const endpoint = cluster.select(req.hashKey, attempt.exclude);
    if (endpoint === undefined) {
      handler.onResponseError(new UpstreamNoEndpointsError({ cluster: cluster.name }));
      return;
    }
    attempt.endpoint = endpoint;
    endpoint.active++;
    const pooled = new PoolHandler(cluster, endpoint, attempt, handler);
    const o = endpoint.poolOptions;
    try {
      endpoint.pool().dispatch(
        {
          method: req.method as Dispatcher.HttpMethod,
          path: req.path,
          headers: req.headers,
          body: req.body,
          upgrade: req.upgrade ?? null,
          // a body-less GET/HEAD can be resent on a fresh socket by undici; others never silently
          idempotent: req.body === null && (req.method === 'GET' || req.method === 'HEAD'),
          // Per request, so a Service update applies at once. undici's headers timer runs from the start of the
          // write, upload included: with a body, PoolHandler times the headers from onRequestSent instead.
          headersTimeout: req.body === null ? o.responseHeadersTimeoutMs : 0,
          bodyTimeout: o.bodyIdleTimeoutMs,
        },
        pooled,
      );
    } catch (err) {
      pooled.onResponseError(null, err as Error);
    }
  };
}

type IncomingHttpHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

class PoolHandler implements Dispatcher.DispatchHandler {
  readonly #cluster: ClusterContext;
  readonly #endpoint: UpstreamEndpoint;
  readonly #attempt: Attempt;
  readonly #next: AttemptHandler;
  #controller: Controller | undefined;
  /** Response headers timer of a request with a body, armed when the body is all sent. */
  #headersTimer: NodeJS.Timeout | undefined;
  #headersMs = 0;
  #started = false;
  #responded = false;
  #finished = false;

  constructor(cluster: ClusterContext, endpoint: UpstreamEndpoint, attempt: Attempt, next: AttemptHandler) {
    this.#cluster = cluster;
    this.#endpoint = endpoint;
    this.#attempt = attempt;
    this.#next = next;
  }

  onRequestStart(controller: Controller): void {
    this.#started = true;
    // throws when the attempt was cancelled while queued: undici drops the request and keeps the connection
    this.#attempt.bind(controller);
    this.#controller = controller;
    this.#next.onRequestStart(controller);
  }

  onRequestSent(): void {
    this.#attempt.sent = true;
    if (this.#attempt.req.body !== null && !this.#responded && !this.#finished) {
      const ms = this.#endpoint.poolOptions.responseHeadersTimeoutMs;
      if (ms > 0) {
        this.#headersMs = ms;
        this.#headersTimer = setTimeout(headersTimedOut, ms, this);
      }
    }
    this.#next.onRequestSent();
  }

  /** The endpoint took longer than the Service's responseHeadersTimeout after the whole request was sent. */
  headersTimedOut(): void {
    this.#headersTimer = undefined;
    if (this.#responded || this.#finished) return;
    const where = { cluster: this.#cluster.name, endpoint: this.#endpoint.key };
    this.#controller?.abort(new UpstreamTimeoutError(where, this.#headersMs, 'response headers'));
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) {
      // undici reports a 1xx (HTTP/1.1 and HTTP/2) through onResponseStart, then the final response again
      this.#next.onInformational(controller, statusCode, headers as Headers);
      return;
    }
    this.#responded = true;
    if (this.#headersTimer !== undefined) this.#clearHeadersTimer();
    this.#next.onResponseStart(controller, statusCode, headers as Headers);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#next.onResponseData(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#finish();
    this.#next.onResponseEnd(controller, trailers as Headers);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex) {
    this.#finish();
    this.#next.onRequestUpgrade(controller, statusCode, headers as Headers, socket);
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    this.#finish();
    const where = { cluster: this.#cluster.name, endpoint: this.#endpoint.key };
    const body = this.#attempt.req.body;
    const err =
      body !== null && causedByClientBody(body, error)
        ? new UpstreamClientBodyError(where, error)
        : classify(error, this.#started, where);
    if (err.connectFailure)
      upstreamChannels.connectError.publish({ backend: where.cluster, endpoint: where.endpoint, error: err });
    this.#next.onResponseError(err);
  }

  #clearHeadersTimer(): void {
    clearTimeout(this.#headersTimer);
    this.#headersTimer = undefined;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#endpoint.active--;
    if (this.#headersTimer !== undefined) this.#clearHeadersTimer();
  }
}

function headersTimedOut(handler: PoolHandler): void {
  handler.headersTimedOut();
}

/**
 * The request body (the client's stream) broke, not the endpoint: undici reports the body's own error (before it
 * destroys the body with anything else), or UND_ERR_ABORTED when the body closed early without one.
 */
function causedByClientBody(body: Readable, error: Error): boolean {
  if (error instanceof UpstreamError) return false;
  if (body.errored === error) return true;
  return body.destroyed && (error as { code?: unknown }).code === 'UND_ERR_ABORTED';
}

const REQUEST_BUG = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/** undici's error -> ours. Nothing written yet (request not started) means the endpoint was never reached. */
export function classify(error: unknown, started: boolean, where: UpstreamErrorWhere): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REQUEST_BUG.has(code)) return new UpstreamRequestError(where, error);
  if (!started) return new UpstreamConnectError(where, error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(where, undefined, 'response headers');
  if (code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamTimeoutError(where, undefined, 'response body data');
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED')
    return new UpstreamResetError(where, error);
  return new UpstreamRequestError(where, error);
}
