/**
 * One request through the pipeline, from matching to the access log: resolve the rule, run its request phase
 * (policies, filters), pick a backend, run that backend's policies, build the upstream request through the
 * forward phase and hand it to the backend's handler by kind. HTTP requests (http-exchange.ts) and Upgrade
 * handshakes (upgrade.ts) share all of it and differ only in how they answer. The exchange is also the sink the
 * backend streams its answer into: one object per request, methods on the prototype, no closures per request.
 */
import type { Readable } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { type AccessLogWriter, type Logger, nextTraceparent, type RouteObserver } from '@portico/observability';
import {
  type CallHandle,
  type ClusterRequest,
  hashKeyFor,
  type ResponseSink,
  type UpstreamError,
} from '@portico/upstream';
import { BackendNotFoundError, NoBackendError } from './errors.ts';
import {
  clientAddress,
  forwardedHeadList,
  forwardingClient,
  type HeaderMap,
  requestIdOf,
  type TrustedProxies,
} from './forwarding.ts';
import type { PathPolicy } from './paths.ts';
import type { ExchangeView, ForwardRequest, Listener } from './pipeline/phases.ts';
import { runForwardPhase, runRequestPhase, runResponsePhase } from './pipeline/runner.ts';
import { clientIp, type ProxyRequest, type Resolved, resolveRoute, toProxyError } from './resolve.ts';
import { pickBackend } from './snapshot/pick.ts';
import type { CompiledBackend, Snapshot } from './snapshot/snapshot.ts';

export interface HandlerContext {
  /** The snapshot new requests take. */
  current(): Snapshot;
  logger: Logger;
  /** Writes one access line per request; undefined when access logs are off (or the level drops info). */
  accessLog: AccessLogWriter | undefined;
  maxBodyBytes: number;
  /** Counts requests answered before a route matched (404, 400): route="" backend="". */
  unrouted: RouteObserver;
  /** Peers whose X-Forwarded-For is believed; undefined = none (the default). */
  trustedProxies: TrustedProxies | undefined;
  /** How odd request-target paths are refused or normalized (paths.ts); undefined = DEFAULT_PATH_POLICY. */
  pathPolicy?: Readonly<PathPolicy>;
}

export abstract class Exchange implements ExchangeView, ResponseSink {
  readonly start = performance.now();
  readonly ctx: HandlerContext;
  readonly req: ProxyRequest;
  readonly listener: Listener;
  /** Read up front: a keep-alive socket may be detached by the time the access log is written. */
  readonly peer: string;
  readonly client: string;
  readonly requestId: string;
  abstract readonly upgrade: boolean;
  /** Set once the request matched; filters and backends only ever see a matched exchange. */
  resolved!: Resolved;
  /** The backend picked for the request, once the rule's request phase let it through. */
  picked: CompiledBackend | undefined;
  route = '';
  backend = '';
  status = 0;
  observer: RouteObserver | undefined;
  timer: NodeJS.Timeout | undefined;
  call: CallHandle | undefined;
  /** Metrics and the access log line are written: nothing more happens for this exchange. */
  finished = false;

  constructor(ctx: HandlerContext, req: ProxyRequest, listener: Listener) {
    this.ctx = ctx;
    this.req = req;
    this.listener = listener;
    this.observer = ctx.unrouted;
    this.peer = clientIp(req);
    this.client = clientAddress(this.peer, req.headers, ctx.trustedProxies);
    this.requestId = requestIdOf(req.headers);
  }

  /** The answer is decided (or the client left): later steps of the pipeline do nothing. */
  abstract get settled(): boolean;
  abstract respond(status: number, headers: HeaderMap, body?: string): void;
  abstract fail(err: PorticoError): void;
  abstract onTimeout(ms: number): void;
  /** Refuses what the rule can't take before any hook runs (a body over the limit, a forbidden upgrade). */
  abstract refused(): boolean;
  abstract requestBody(): Readable | null;
  /** Called just before the backend gets the request: cancel it when the client goes away. */
  abstract watchClient(): void;
  /** The access log's path: the target with query values left out. */
  abstract loggedPath(): string | undefined;

  abstract onResponseStart(statusCode: number, headers: HeaderMap, call: CallHandle): boolean | undefined;
  abstract onResponseData(chunk: Buffer): boolean;
  abstract onResponseEnd(trailers: HeaderMap): void;
  abstract onResponseError(err: UpstreamError): void;

  /** Matches the request and runs the pipeline. */
  run(): void {
    const resolved = resolveRoute(this.ctx.current(), this.req, this.ctx.pathPolicy);
    if (isPorticoError(resolved)) return this.fail(resolved);
    this.resolved = resolved;
    const rule = resolved.rule;
    this.route = rule.route;
    this.observer = rule.observer;
    if (this.refused()) return;
    // timeouts.request covers everything from here: policies, the backend, the answer (or an upgrade's 101).
    const ms = rule.requestTimeoutMs;
    if (ms !== undefined) this.timer = setTimeout(onRequestTimeout, ms, this, ms);
    const verdict = runRequestPhase(rule.phases, this);
    if (verdict === false) return this.toBackend();
    if (verdict !== true) verdict.then(this.afterRulePolicies.bind(this), this.failAsync.bind(this));
  }

  afterRulePolicies(answered: boolean): void {
    if (!answered) this.toBackend();
  }

  afterBackendPolicies(answered: boolean): void {
    if (!answered && !this.settled) this.forward(this.picked!);
  }

  failAsync(err: unknown): void {
    if (!this.settled) this.fail(toProxyError(err));
  }

  toBackend(): void {
    if (this.settled) return;
    const rule = this.resolved.rule;
    const backend = pickBackend(rule);
    if (backend === undefined) return this.fail(new NoBackendError(rule.route));
    this.picked = backend;
    this.backend = backend.name;
    this.observer = backend.observer;
    if (backend.target === undefined) return this.fail(new BackendNotFoundError(rule.route, backend.name));
    const verdict = runRequestPhase(backend.phases, this);
    if (verdict === false) return this.forward(backend);
    if (verdict !== true) verdict.then(this.afterBackendPolicies.bind(this), this.failAsync.bind(this));
  }

  /** Builds the upstream request through the forward phase and hands it to the backend's handler. */
  forward(backend: CompiledBackend): void {
    const target = backend.target!;
    const { req, ctx, resolved } = this;
    const rule = resolved.rule;
    const headers = forwardedHeadList(
      req.headers,
      forwardingClient(
        this.peer,
        this.client,
        ctx.trustedProxies,
        this.listener.scheme,
        resolved.authority,
        req.httpVersion,
      ),
      resolved.authority,
      nextTraceparent(req.headers.traceparent as string | undefined),
      this.requestId,
    );
    const fwd: ForwardRequest = {
      method: resolved.method,
      path: resolved.target.path,
      query: resolved.target.query,
      headers,
      body: this.requestBody(),
    };
    runForwardPhase(rule.phases, fwd, this);
    runForwardPhase(backend.phases, fwd, this);
    // clientKey: the cluster caps one client's share of a Service's connections by it.
    const request: ClusterRequest = {
      method: fwd.method,
      path: fwd.query === '' ? fwd.path : `${fwd.path}?${fwd.query}`,
      headers,
      body: fwd.body,
      clientKey: this.client,
    };
    const hashKey = hashKeyFor(target.loadBalancer, req.headers, this.client);
    if (hashKey !== undefined) request.hashKey = hashKey;
    if (this.upgrade) request.upgrade = String(req.headers.upgrade);
    else if (rule.retry !== undefined) request.retry = rule.retry;
    if (rule.backendTimeoutMs !== undefined) request.backendTimeoutMs = rule.backendTimeoutMs;
    this.watchClient();
    this.call = target.handler.dispatch(request, this, this);
  }

  /** The response phase over a backend's response head: the rule's hooks, then the backend's. */
  responseHead(headers: HeaderMap): void {
    runResponsePhase(this.resolved.rule.phases, headers, this);
    if (this.picked !== undefined) runResponsePhase(this.picked.phases, headers, this);
    headers['x-request-id'] ??= this.requestId;
  }

  /** Once per exchange: the metrics and the access log line. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const seconds = (performance.now() - this.start) / 1000;
    this.observer?.observe(this.status, seconds);
    const accessLog = this.ctx.accessLog;
    if (accessLog === undefined) return;
    const req = this.req;
    accessLog({
      requestId: this.requestId,
      method: req.method,
      host: req.headers[':authority'] ?? req.headers.host,
      path: this.loggedPath(),
      status: this.status,
      ms: Math.round(seconds * 1e5) / 100,
      route: this.route,
      backend: this.backend,
      client: this.client,
      ua: req.headers['user-agent'],
      upgrade: this.upgrade ? req.headers.upgrade : undefined,
    });
  }

  logFailure(level: 'warn' | 'error', err: unknown, msg: string): void {
    this.ctx.logger[level](
      { err, requestId: this.requestId, route: this.route, backend: this.backend, client: this.client },
      msg,
    );
  }
}

function onRequestTimeout(ex: Exchange, ms: number): void {
  ex.timer = undefined;
  ex.onTimeout(ms);
}
