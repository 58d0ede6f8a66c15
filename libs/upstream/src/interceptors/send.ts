import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { connectErrorChannel } from '../channels.ts';
import type { UpstreamEndpoint } from '../endpoint.ts';
import {
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
  #started = false;
  #finished = false;

  constructor(cluster: ClusterContext, endpoint: UpstreamEndpoint, attempt: Attempt, next: AttemptHandler) {
    this.#cluster = cluster;
    this.#endpoint = endpoint;
    this.#attempt = attempt;
    this.#next = next;
  }

  onRequestStart(controller: Controller): void {
    this.#started = true;
    if (this.#attempt.bind(controller)) this.#next.onRequestStart(controller);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders): void {
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
    const err = classify(error, this.#started, where);
    if (err.connectFailure) {
      this.#cluster.stats.connectErrors++;
      if (connectErrorChannel.hasSubscribers)
        connectErrorChannel.publish({ cluster: where.cluster, endpoint: where.endpoint, error: err });
    }
    this.#next.onResponseError(err);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#endpoint.active--;
  }
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
