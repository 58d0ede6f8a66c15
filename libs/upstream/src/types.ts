import type { Duplex, Readable } from 'node:stream';
import type { UpstreamError } from './errors.ts';

export type Headers = Record<string, string | string[]>;

/** A retry policy in milliseconds and sets; build it from a route's `retry` with `retryPolicyFrom`. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  attempts: number;
  /** Response statuses that are retried (connect failures and resets before a response always may be). */
  codes: ReadonlySet<number>;
  /** Base backoff between attempts; grows x2 per retry up to 10x, jittered. */
  backoffMs: number;
  nonIdempotent: boolean;
  budgetPercent: number;
  minRetryConcurrency: number;
}

export interface ClusterRequest {
  method: string;
  /** Path with query. */
  path: string;
  /**
   * Already cleaned by the proxy: no hop-by-hop headers. An object, or a flat [name, value, name, value...]
   * list (what undici takes fastest).
   */
  headers: Headers | string[];
  /** null = no body. Streamed, never buffered. */
  body: Readable | null;
  /** ConsistentHash key; see hashKeyFor(). */
  hashKey?: string;
  retry?: RetryPolicy;
  /**
   * Per attempt: time until response headers. It runs while the request waits for a connection, stops while the
   * request body is uploading (the client's pace is not the endpoint's) and starts again, whole, once the request
   * has been fully sent.
   */
  backendTimeoutMs?: number;
  /** 'websocket' etc: an Upgrade request, answered through sink.onUpgrade. */
  upgrade?: string;
  /**
   * Who the request is for (the client address the proxy decided): a client may hold at most its share of the
   * Service's connections (`connectionPool.maxRequestsPerClient`). Unset: not counted.
   */
  clientKey?: string;
}

/**
 * A dispatched request, as its caller holds it. abort() is the one way to cancel it: the caller runs any timer of
 * its own (a route's timeouts.request) and aborts through here when the client goes away or that timer fires.
 */
export interface CallHandle {
  /** Cancel: the sink gets a 499 (if nothing was committed) and the upstream request is aborted. */
  abort(): void;
  /** Read the upstream again after the sink paused it (backpressure). */
  resume(): void;
}

/** What the proxy implements; the cluster calls it for the final attempt only. */
export interface ResponseSink {
  /**
   * Return false to pause (backpressure); call `call.resume()` when drained. Returning nothing means go on.
   * `call` is the handle dispatch() returned, handed over here too so a sink needs no closure to keep it.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: lets a sink that never pauses return nothing
  onResponseStart(statusCode: number, headers: Headers, call: CallHandle): boolean | void;
  /** false = pause until call.resume(). */
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(trailers: Headers): void;
  /** Before or after start; err.status 502/503/504 (499 when the call was aborted). */
  onResponseError(err: UpstreamError): void;
  onUpgrade?(statusCode: number, headers: Headers, socket: Duplex): void;
  /**
   * A 1xx other than 101 (103 Early Hints, an unasked-for 102) before the final response of the current attempt;
   * the final response still comes through onResponseStart. Nothing is committed by it.
   */
  onInformational?(statusCode: number, headers: Headers): void;
}

export interface EndpointState {
  address: string;
  port: number;
  weight: number;
  zone: string | undefined;
  /** Active health checks' verdict (true when there are none). */
  healthy: boolean;
  /** Ejected by outlier detection. */
  ejected: boolean;
  /** Requests in flight. */
  active: number;
}

/** What the retry budget is computed from: retries may be at most a share of the requests in flight. */
export interface ClusterStats {
  /** Requests dispatched and not yet finished. */
  activeRequests: number;
  /** Of those, requests waiting for or running a retry. */
  activeRetries: number;
}
