import type { Duplex } from 'node:stream';
import type { UpstreamEndpoint } from '../endpoint.ts';
import {
  UpstreamAbortedError,
  UpstreamAllFailedError,
  UpstreamClientLimitError,
  type UpstreamError,
} from '../errors.ts';
import { backoffDelay, isIdempotent } from '../retry-policy.ts';
import type { CallHandle, ClusterRequest, Headers, ResponseSink } from '../types.ts';
import { Attempt, type AttemptDispatch, type AttemptHandler, type ClusterContext, type Controller } from './chain.ts';

export type ClusterDispatch = (req: ClusterRequest, sink: ResponseSink) => CallHandle;

/** A retryable response's body is read and dropped (keeps the connection) up to this much, else the socket is cut. */
const DISCARD_LIMIT = 64 * 1024;

/**
 * A request cancelled by its client after it was fully sent over HTTP/1.1: aborting would close the socket
 * (HTTP/1.1 cannot cancel one request on a connection), so its response is read and dropped instead, up to
 * DISCARD_LIMIT bytes and this long; past either the socket is cut after all. Over HTTP/2 a cancel is a
 * RST_STREAM and costs no connection, so nothing is drained there.
 */
const CANCEL_DRAIN_MS = 1_000;

/**
 * The outermost step: runs attempts until one is committed to the sink, then streams it. A response is
 * committed at its first byte (headers), after which nothing is retried.
 */
export function retry(cluster: ClusterContext): (next: AttemptDispatch) => ClusterDispatch {
  return (next) => (req, sink) => {
    const call = new ClusterCall(cluster, next, req, sink);
    call.start();
    return call;
  };
}

class ClusterCall implements CallHandle {
  readonly #cluster: ClusterContext;
  readonly #next: AttemptDispatch;
  readonly #req: ClusterRequest;
  readonly #sink: ResponseSink;
  /** Endpoints earlier attempts went to; made on the first retry (most requests never need it). */
  #tried: Set<UpstreamEndpoint> | undefined;
  #attempt: CallAttempt | undefined;
  #attempts = 0;
  #committed = false;
  #done = false;
  /** Holds one of the cluster's retry slots (counted in stats.activeRetries). */
  #retrying = false;
  #controller: Controller | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  /** Holds one of its client's in-flight slots (ClusterRequest.clientKey). */
  #clientHeld = false;
  /** The cancelled attempt is draining its response: the client slot is given back when that ends. */
  #draining = false;

  constructor(cluster: ClusterContext, next: AttemptDispatch, req: ClusterRequest, sink: ResponseSink) {
    this.#cluster = cluster;
    this.#next = next;
    this.#req = req;
    this.#sink = sink;
  }

  start(): void {
    const key = this.#req.clientKey;
    if (key !== undefined && this.#cluster.clientLimit > 0) {
      if (!this.#cluster.acquireClient(key)) {
        this.#done = true;
        this.#sink.onResponseError(
          new UpstreamClientLimitError({ cluster: this.#cluster.name }, this.#cluster.clientLimit),
        );
        return;
      }
      this.#clientHeld = true;
    }
    this.#cluster.stats.activeRequests++;
    this.#send();
  }

  #send(): void {
    this.#backoffTimer = undefined;
    const attempt = new CallAttempt(this, this.#req, this.#tried);
    this.#attempt = attempt;
    this.#attempts++;
    this.#next(attempt, attempt);
  }

  /** The caller's one way to cancel (its client went away, or its own request timer fired). */
  abort(): void {
    if (this.#done) return;
    const err = new UpstreamAbortedError({ cluster: this.#cluster.name, endpoint: this.#attempt?.endpoint?.key });
    const attempt = this.#attempt;
    if (attempt?.mayDrain()) {
      this.#draining = true;
      attempt.drain(err);
    }
    this.#finish();
    this.#sink.onResponseError(err);
    if (!this.#draining) attempt?.abort(err);
  }

  isCurrent(attempt: Attempt): boolean {
    return this.#attempt === attempt && !this.#done;
  }

  onResponseStart(attempt: CallAttempt, controller: Controller, statusCode: number, headers: Headers): void {
    const policy = this.#req.retry;
    if (policy?.codes.has(statusCode) && this.#mayRetry(false)) {
      attempt.discarding = true;
      return;
    }
    this.#committed = true;
    this.#controller = controller;
    if (this.#sink.onResponseStart(statusCode, headers, this) === false) controller.pause();
  }

  resume(): void {
    if (!this.#done) this.#controller?.resume();
  }

  onInformational(attempt: CallAttempt, statusCode: number, headers: Headers): void {
    // 101 only ever answers an upgrade (onRequestUpgrade); a retryable response being dropped has no hints to give
    if (statusCode === 101 || this.#committed || attempt.discarding) return;
    this.#sink.onInformational?.(statusCode, headers);
  }

  /** The client's slot, when held, goes back (at the end of the call, or of a cancelled attempt's drain). */
  releaseClient(): void {
    if (!this.#clientHeld) return;
    this.#clientHeld = false;
    this.#cluster.releaseClient(this.#req.clientKey!);
  }

  onResponseData(attempt: CallAttempt, controller: Controller, chunk: Buffer): void {
    if (attempt.discarding) {
      attempt.discarded += chunk.length;
      if (attempt.discarded > DISCARD_LIMIT) {
        // not worth reading: cut the socket and move on
        attempt.discarding = false;
        this.#retryLater();
        controller.abort(new Error('retried response body too large to drain'));
      }
      return;
    }
    if (!this.#sink.onResponseData(chunk)) controller.pause();
  }

  onResponseEnd(attempt: CallAttempt, trailers: Headers): void {
    if (attempt.discarding) {
      this.#retryLater();
      return;
    }
    this.#finish();
    this.#sink.onResponseEnd(trailers);
  }

  onResponseError(attempt: CallAttempt, err: UpstreamError): void {
    if (attempt.discarding) {
      // the retryable response broke while draining: still retry
      this.#retryLater();
      return;
    }
    if (!this.#committed && this.#mayRetryError(err)) {
      this.#retryLater();
      return;
    }
    this.#finish();
    this.#sink.onResponseError(
      !this.#committed && this.#attempts > 1
        ? new UpstreamAllFailedError({ cluster: this.#cluster.name }, this.#attempts, err)
        : err,
    );
  }

  onRequestUpgrade(statusCode: number, headers: Headers, socket: Duplex): void {
    this.#committed = true;
    this.#finish();
    if (this.#sink.onUpgrade !== undefined) this.#sink.onUpgrade(statusCode, headers, socket);
    else socket.destroy();
  }

  #mayRetryError(err: UpstreamError): boolean {
    if (this.#req.retry === undefined) return false;
    if (err.connectFailure) return this.#mayRetry(true);
    if (err.code === 'PORTICO_ERR_UPSTREAM_RESET') return this.#mayRetry(false);
    if (err.code === 'PORTICO_ERR_UPSTREAM_TIMEOUT') return this.#req.retry.codes.has(504) && this.#mayRetry(false);
    return false;
  }

  /** Policy, attempts left, method, body and budget allow one more attempt. */
  #mayRetry(connectFailure: boolean): boolean {
    const policy = this.#req.retry;
    if (policy === undefined || this.#attempts > policy.attempts) return false;
    // a connect failure never reached the endpoint, so even a POST cannot run twice
    if (!connectFailure && !policy.nonIdempotent && !isIdempotent(this.#req.method)) return false;
    const body = this.#req.body;
    // bodies are never buffered: resend one only if the endpoint was never reached and nothing was read from it
    if (body !== null && !(connectFailure && !body.destroyed && !body.readableDidRead)) return false;
    if (!this.#retrying) {
      const stats = this.#cluster.stats;
      const budget = Math.max(policy.minRetryConcurrency, (policy.budgetPercent / 100) * stats.activeRequests);
      if (stats.activeRetries + 1 > budget) return false;
    }
    return true;
  }

  #retryLater(): void {
    if (this.#done) return;
    if (!this.#retrying) {
      this.#retrying = true;
      this.#cluster.stats.activeRetries++;
    }
    const tried = this.#attempt?.endpoint;
    if (tried !== undefined) {
      this.#tried ??= new Set();
      this.#tried.add(tried);
    }
    this.#attempt = undefined;
    const delay = backoffDelay(this.#req.retry!.backoffMs, this.#attempts);
    this.#backoffTimer = setTimeout(() => this.#send(), delay);
  }

  #finish(): void {
    this.#done = true;
    const stats = this.#cluster.stats;
    stats.activeRequests--;
    if (this.#retrying) {
      this.#retrying = false;
      stats.activeRetries--;
    }
    clearTimeout(this.#backoffTimer);
    if (!this.#draining) this.releaseClient();
  }
}

/**
 * One attempt, and the handler at the top of its chain: callbacks of an attempt the call has abandoned (timed
 * out, retried, cancelled) are dropped here. One object per attempt instead of an attempt plus a handler.
 */
class CallAttempt extends Attempt implements AttemptHandler {
  readonly #call: ClusterCall;
  /** A retryable response whose body is being read and dropped. */
  discarding = false;
  discarded = 0;
  /** Cancelled by the client, response read and dropped to keep the HTTP/1.1 connection (CANCEL_DRAIN_MS). */
  #drainTimer: NodeJS.Timeout | undefined;
  #drainReason: UpstreamError | undefined;

  constructor(call: ClusterCall, req: ClusterRequest, exclude: ReadonlySet<UpstreamEndpoint> | undefined) {
    super(req, exclude);
    this.#call = call;
  }

  /**
   * Whether a cancel can read the response out instead of cutting the socket: HTTP/1.1, the request fully sent
   * (a half-sent request can only end with the socket), not an upgrade.
   */
  mayDrain(): boolean {
    const c = this.controller;
    const e = this.endpoint;
    return this.sent && c !== undefined && !c.aborted && e !== undefined && !e.poolOptions.http2 && !this.req.upgrade;
  }

  drain(reason: UpstreamError): void {
    this.#drainReason = reason;
    this.discarding = false;
    this.discarded = 0;
    this.#drainTimer = setTimeout(drainTimedOut, CANCEL_DRAIN_MS, this);
    const c = this.controller!;
    if (c.paused) c.resume();
  }

  /** Drain over: done or failed by itself, or (cut) too slow or too big, so the socket goes after all. */
  endDrain(cut: boolean): void {
    const reason = this.#drainReason;
    if (reason === undefined) return;
    this.#drainReason = undefined;
    clearTimeout(this.#drainTimer);
    if (cut) this.abort(reason);
    this.#call.releaseClient();
  }

  onRequestStart(): void {}
  onRequestSent(): void {}

  onInformational(_controller: Controller, statusCode: number, headers: Headers): void {
    if (this.#call.isCurrent(this)) this.#call.onInformational(this, statusCode, headers);
  }
  onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    if (this.#call.isCurrent(this)) this.#call.onResponseStart(this, controller, statusCode, headers);
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#call.isCurrent(this)) this.#call.onResponseData(this, controller, chunk);
    else if (this.#drainReason !== undefined) {
      this.discarded += chunk.length;
      if (this.discarded > DISCARD_LIMIT) this.endDrain(true);
    }
  }
  onResponseEnd(_controller: Controller, trailers: Headers): void {
    if (this.#call.isCurrent(this)) this.#call.onResponseEnd(this, trailers);
    else this.endDrain(false);
  }
  onResponseError(err: UpstreamError): void {
    if (this.#call.isCurrent(this)) this.#call.onResponseError(this, err);
    else this.endDrain(false);
  }
  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    if (this.#call.isCurrent(this)) this.#call.onRequestUpgrade(statusCode, headers, socket);
    else socket.destroy();
  }
}

function drainTimedOut(attempt: CallAttempt): void {
  attempt.endDrain(true);
}
