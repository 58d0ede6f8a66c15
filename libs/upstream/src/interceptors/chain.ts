import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamEndpoint } from '../endpoint.ts';
import type { UpstreamError } from '../errors.ts';
import type { ClusterRequest, ClusterStats, Headers } from '../types.ts';

export type Controller = Dispatcher.DispatchController;

/** What the interceptors need from their cluster. */
export interface ClusterContext {
  readonly name: string;
  readonly stats: ClusterStats;
  /** Pick an endpoint (undefined: none with weight > 0). */
  select(hashKey: string | undefined, exclude: ReadonlySet<UpstreamEndpoint> | undefined): UpstreamEndpoint | undefined;
  /** Whether the service has outlier detection (read per request: update() may turn it on or off). */
  readonly outlierDetection: boolean;
  /** Outlier detection input; no-ops when the service has none. */
  onStatus(endpoint: UpstreamEndpoint, status: number): void;
  onConnectFailure(endpoint: UpstreamEndpoint): void;
  /** Per-client in-flight limit (connectionPool.maxRequestsPerClient); 0 = clients are not counted. */
  readonly clientLimit: number;
  /** Take one of the client's slots; false when it already has clientLimit in flight. */
  acquireClient(key: string): boolean;
  /** Give one back (the key goes at zero). */
  releaseClient(key: string): void;
}

/** One try of a request. The innermost interceptor sets `endpoint` and binds the undici controller. */
export class Attempt {
  readonly req: ClusterRequest;
  /** Endpoints earlier attempts of this request went to (undefined on the first). */
  readonly exclude: ReadonlySet<UpstreamEndpoint> | undefined;
  endpoint: UpstreamEndpoint | undefined;
  /** The request's head and body are all on the wire (undici's onRequestSent). */
  sent = false;
  /** undici's controller once the request started on a connection. */
  protected controller: Controller | undefined;
  #abortReason: UpstreamError | undefined;

  constructor(req: ClusterRequest, exclude: ReadonlySet<UpstreamEndpoint> | undefined) {
    this.req = req;
    this.exclude = exclude;
  }

  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** Cancel from outside (timeout, client gone). Before undici started the request, it is cancelled when it does. */
  abort(reason: UpstreamError): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.controller?.abort(reason);
  }

  /**
   * Called by the innermost interceptor when undici starts the request on a connection. One cancelled while it
   * waited is refused by throwing: undici then drops it from its queue and keeps the connection, where aborting
   * through the controller would destroy an HTTP/1.1 socket that carried nothing of it.
   */
  bind(controller: Controller): void {
    if (this.#abortReason !== undefined) throw this.#abortReason;
    this.controller = controller;
  }
}

/** The v8 undici handler shape, with errors already turned into UpstreamErrors. */
export interface AttemptHandler {
  onRequestStart(controller: Controller): void;
  /** Head and body are all written upstream (after onRequestStart; may come after onResponseStart too). */
  onRequestSent(): void;
  /** A 1xx other than 101 before the final response (which still comes through onResponseStart). */
  onInformational(controller: Controller, statusCode: number, headers: Headers): void;
  onResponseStart(controller: Controller, statusCode: number, headers: Headers): void;
  onResponseData(controller: Controller, chunk: Buffer): void;
  onResponseEnd(controller: Controller, trailers: Headers): void;
  onResponseError(err: UpstreamError): void;
  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void;
}

export type AttemptDispatch = (attempt: Attempt, handler: AttemptHandler) => void;
export type AttemptInterceptor = (next: AttemptDispatch) => AttemptDispatch;

/** Forwards everything; interceptors extend it and override what they watch. */
export class ForwardingHandler implements AttemptHandler {
  protected readonly next: AttemptHandler;

  constructor(next: AttemptHandler) {
    this.next = next;
  }

  onRequestStart(controller: Controller): void {
    this.next.onRequestStart(controller);
  }
  onRequestSent(): void {
    this.next.onRequestSent();
  }
  onInformational(controller: Controller, statusCode: number, headers: Headers): void {
    this.next.onInformational(controller, statusCode, headers);
  }
  onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    this.next.onResponseStart(controller, statusCode, headers);
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    this.next.onResponseData(controller, chunk);
  }
  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.next.onResponseEnd(controller, trailers);
  }
  onResponseError(err: UpstreamError): void {
    this.next.onResponseError(err);
  }
  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.next.onRequestUpgrade(controller, statusCode, headers, socket);
  }
}
