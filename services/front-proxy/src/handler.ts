/**
 * The request path: match, apply the rule's filters, forward to a backend cluster and stream the answer back.
 * Everything a request needs comes from the snapshot it started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { PassThrough, pipeline, type Readable, Transform } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { type Logger, nextTraceparent } from '@portico/observability';
import type { RouteMatchResult } from '@portico/router';
import {
  type CallHandle,
  type ClusterRequest,
  hashKeyFor,
  type ResponseSink,
  type UpstreamError,
} from '@portico/upstream';
import {
  BackendNotFoundError,
  BadRequestError,
  BodyTooLargeError,
  NoBackendError,
  NoRouteError,
  ProxyError,
  ProxyTimeoutError,
} from './errors.ts';
import { redirectLocation, rewritePath } from './filters.ts';
import { endToEndResponseHeaders, forwardedHeadList, type HeaderMap, requestIdOf } from './forwarding.ts';
import { parseTarget, type Target } from './paths.ts';
import { type CompiledRule, pickBackend, type RouteObserver, type Snapshot } from './snapshot.ts';

export type ProxyRequest = IncomingMessage | Http2ServerRequest;
export type ProxyResponse = ServerResponse | Http2ServerResponse;

export interface HandlerContext {
  /** The snapshot new requests take. */
  current(): Snapshot;
  logger: Logger;
  accessLog: boolean;
  maxBodyBytes: number;
}

interface Listener {
  scheme: 'http' | 'https';
  port: number;
}

export function hostOf(req: ProxyRequest): string {
  const raw = (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* '[' */) end = raw.indexOf(']') + 1;
  else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  let host = raw.slice(0, end);
  // `example.com.` is the same name as `example.com`.
  if (host.charCodeAt(host.length - 1) === 46) host = host.slice(0, -1);
  return host === host.toLowerCase() ? host : host.toLowerCase();
}

export function clientIp(req: ProxyRequest): string {
  const ip = req.socket?.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export interface Resolved {
  target: Target;
  host: string;
  method: string;
  match: RouteMatchResult;
  rule: CompiledRule;
}

/** Request target, host and the matching rule of the snapshot; the error to answer with when there is none. */
export function resolveRoute(snapshot: Snapshot, req: ProxyRequest): Resolved | PorticoError {
  let target: Target;
  try {
    target = parseTarget(req.url ?? '/');
  } catch (err) {
    return toProxyError(err);
  }
  const host = hostOf(req);
  if (host === '') return new BadRequestError('missing Host header', [{ path: 'host', message: 'required' }]);
  const method = req.method ?? 'GET';
  const match = snapshot.table.match({ host, path: target.path, query: target.query, method, headers: req.headers });
  if (match === null) return new NoRouteError(host, target.path);
  return { target, host, method, match, rule: snapshot.rules.get(match.route)![match.ruleIndex]! };
}

function hasBody(req: ProxyRequest): boolean {
  const h2 = (req as Http2ServerRequest).stream;
  if (h2 !== undefined) return !h2.endAfterHeaders;
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

export function sendError(res: ProxyResponse, err: PorticoError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(err.toJSON());
  const headers: HeaderMap = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  (res as ServerResponse).writeHead(err.status, headers);
  res.end(body);
}

function toProxyError(err: unknown): PorticoError {
  if (isPorticoError(err)) return err;
  return new ProxyError('PORTICO_ERR_PROXY_INTERNAL', 'internal proxy error', { status: 500, cause: err });
}

/**
 * One request from matching to the access log. It is also the sink the upstream cluster streams the answer into:
 * one object per request, methods on the prototype, no closures on the request path.
 */
class Exchange implements ResponseSink {
  readonly start = performance.now();
  readonly ctx: HandlerContext;
  readonly req: ProxyRequest;
  readonly res: ProxyResponse;
  /** Read up front: a keep-alive socket may be detached by the time the access log is written. */
  readonly client: string;
  route = '';
  backend = '';
  status = 0;
  requestId: string | undefined;
  observer: RouteObserver | undefined;
  done = false;
  rule: CompiledRule | undefined;
  corsOrigin: string | undefined;
  timer: NodeJS.Timeout | undefined;
  call: CallHandle | undefined;
  /** Made on the first backpressure only: most answers fit the socket buffer. */
  onDrain: (() => void) | undefined;

  constructor(ctx: HandlerContext, req: ProxyRequest, res: ProxyResponse) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.client = clientIp(req);
  }

  finish(): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const seconds = (performance.now() - this.start) / 1000;
    this.observer?.observe(this.status, seconds);
    if (this.ctx.accessLog) {
      const req = this.req;
      this.ctx.logger.info({
        msg: 'access',
        requestId: this.requestId,
        method: req.method,
        host: req.headers[':authority'] ?? req.headers.host,
        path: req.url,
        status: this.status,
        ms: Math.round(seconds * 1e5) / 100,
        route: this.route,
        backend: this.backend,
        client: this.client,
        ua: req.headers['user-agent'],
      });
    }
  }

  fail(err: PorticoError): void {
    this.status = err.status;
    sendError(this.res, err, this.requestId);
    this.finish();
  }

  /** The client went away (or the request timed out) before the answer was complete. */
  onClose(): void {
    if (!this.done) this.call?.abort();
  }

  onTimeout(ms: number): void {
    this.timer = undefined;
    // Answer first: cancelling makes the cluster report its own (499) error synchronously.
    if (!this.res.headersSent) this.fail(new ProxyTimeoutError(this.route, ms));
    else this.res.destroy();
    this.call?.abort();
  }

  // The call handle is already kept: `ex.call` is what dispatch() returned.
  onResponseStart(statusCode: number, upstreamHeaders: HeaderMap): boolean {
    const res = this.res;
    if (res.destroyed) return false;
    const rule = this.rule!;
    const out = endToEndResponseHeaders(upstreamHeaders);
    rule.responseHeaders?.(out);
    if (this.corsOrigin !== undefined) addCorsHeaders(out, rule, this.corsOrigin);
    out['x-request-id'] ??= this.requestId!;
    this.status = statusCode;
    (res as ServerResponse).writeHead(statusCode, out);
    return true;
  }

  onResponseData(chunk: Buffer): boolean {
    if ((this.res as ServerResponse).write(chunk)) return true;
    // Backpressure: the cluster pauses the upstream until the client drains.
    this.onDrain ??= () => this.call?.resume();
    this.res.once('drain', this.onDrain);
    return false;
  }

  onResponseEnd(trailers: HeaderMap): void {
    for (const _ in trailers) {
      this.res.addTrailers(trailers as Record<string, string>);
      break;
    }
    this.res.end();
    this.finish();
  }

  onResponseError(err: UpstreamError): void {
    if (this.done) return;
    if (err.code === 'PORTICO_ERR_UPSTREAM_ABORTED') {
      // 499: the client went away; nobody is left to answer.
      this.status = err.status;
      this.res.destroy();
      return this.finish();
    }
    this.fail(err);
  }
}

function onResponseClose(this: ProxyResponse & { [EXCHANGE]?: Exchange }): void {
  this[EXCHANGE]?.onClose();
}

const EXCHANGE = Symbol('portico.exchange');

export function createRequestHandler(ctx: HandlerContext, listener: Listener) {
  return function handleRequest(req: ProxyRequest, res: ProxyResponse): void {
    const ex = new Exchange(ctx, req, res);
    const resolved = resolveRoute(ctx.current(), req);
    if (isPorticoError(resolved)) return ex.fail(resolved);
    const { target, host, method, match, rule } = resolved;
    ex.rule = rule;
    ex.route = rule.route;
    ex.observer = rule.observer;

    const origin = req.headers.origin;
    if (rule.cors !== undefined && typeof origin === 'string') {
      ex.corsOrigin = rule.cors.allowOrigin(origin);
      if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        return preflight(ex, rule, ex.corsOrigin, req.headers['access-control-request-headers']);
      }
    }

    if (rule.redirect !== undefined) {
      const location = redirectLocation(rule.redirect, {
        scheme: listener.scheme,
        host,
        port: listener.port,
        path: target.path,
        query: target.query,
        matchedPrefix: match.matchedPrefix,
      });
      ex.status = rule.redirect.statusCode;
      (res as ServerResponse).writeHead(ex.status, { location, 'content-length': '0' });
      res.end();
      return ex.finish();
    }

    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > ctx.maxBodyBytes)
      return ex.fail(new BodyTooLargeError(ctx.maxBodyBytes));

    const backend = pickBackend(rule);
    if (backend === undefined) return ex.fail(new NoBackendError(rule.route));
    ex.backend = backend.name;
    ex.observer = backend.observer;
    if (backend.cluster === undefined) return ex.fail(new BackendNotFoundError(rule.route, backend.name));

    const authority = (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? host;
    const requestId = requestIdOf(req.headers);
    ex.requestId = requestId;
    const headers = forwardedHeadList(
      req.headers,
      { ip: ex.client, proto: listener.scheme, host: authority, httpVersion: req.httpVersion },
      rule.rewrite?.hostname ?? authority,
      nextTraceparent(req.headers.traceparent as string | undefined),
      requestId,
    );
    rule.requestHeaders?.(headers);
    let path = target.path;
    if (rule.rewrite?.path !== undefined) path = rewritePath(path, rule.rewrite.path, match.matchedPrefix);
    const pathAndQuery = target.query === '' ? path : `${path}?${target.query}`;
    let body = hasBody(req) ? limitBody(req, length === undefined ? ctx.maxBodyBytes : undefined) : null;

    for (const mirror of rule.mirrors) {
      if (mirror.cluster === undefined) continue;
      if (mirror.percent < 100 && Math.random() * 100 >= mirror.percent) continue;
      let copy: PassThrough | null = null;
      if (body !== null) {
        copy = new PassThrough();
        body = teeBody(body, copy);
      }
      mirror.cluster.dispatch({ method, path: pathAndQuery, headers: headers.slice(), body: copy }, discardSink);
    }

    const request: ClusterRequest = { method, path: pathAndQuery, headers, body };
    const hashKey = hashKeyFor(backend.loadBalancer, req.headers, ex.client);
    if (hashKey !== undefined) request.hashKey = hashKey;
    if (rule.retry !== undefined) request.retry = rule.retry;
    if (rule.backendTimeoutMs !== undefined) request.backendTimeoutMs = rule.backendTimeoutMs;
    if (rule.requestTimeoutMs !== undefined)
      ex.timer = setTimeout(() => ex.onTimeout(rule.requestTimeoutMs!), rule.requestTimeoutMs);
    (res as ProxyResponse & { [EXCHANGE]?: Exchange })[EXCHANGE] = ex;
    // `on`, not `once`: a response closes once, and `once` would wrap the listener in a new closure per request.
    res.on('close', onResponseClose);
    ex.call = backend.cluster.dispatch(request, ex);
  };

  function preflight(ex: Exchange, rule: CompiledRule, allowOrigin: string | undefined, requestHeaders: unknown): void {
    const headers: HeaderMap = { 'content-length': '0', vary: 'Origin' };
    if (allowOrigin !== undefined && rule.cors !== undefined) {
      const cors = rule.cors;
      headers['access-control-allow-origin'] = allowOrigin;
      headers['access-control-allow-methods'] = cors.allowMethods;
      const allowHeaders =
        cors.allowHeaders === '*' && typeof requestHeaders === 'string' ? requestHeaders : cors.allowHeaders;
      if (allowHeaders !== undefined) headers['access-control-allow-headers'] = allowHeaders;
      headers['access-control-max-age'] = cors.maxAge;
      if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
    }
    ex.status = 200;
    (ex.res as ServerResponse).writeHead(200, headers);
    ex.res.end();
    ex.finish();
  }
}

function addCorsHeaders(out: HeaderMap, rule: CompiledRule, origin: string): void {
  const cors = rule.cors!;
  out['access-control-allow-origin'] = origin;
  if (cors.credentials) out['access-control-allow-credentials'] = 'true';
  if (cors.exposeHeaders !== undefined) out['access-control-expose-headers'] = cors.exposeHeaders;
  const vary = out.vary;
  out.vary = vary === undefined ? 'Origin' : `${Array.isArray(vary) ? vary.join(', ') : vary}, Origin`;
}

/** Chunked bodies have no length up front: count them as they stream and fail at the limit. */
function limitBody(req: ProxyRequest, limit: number | undefined): Readable {
  if (limit === undefined) return req;
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > limit ? new BodyTooLargeError(limit) : null, chunk);
    },
  });
  pipeline(req, counted, () => {});
  return counted;
}

/** A mirror may fall this far behind the primary before its copy is dropped (it must never slow the primary). */
const MIRROR_MAX_BUFFER = 1024 * 1024;

/**
 * The primary reads the body through a pass-through stream that writes each chunk to the mirror's copy as well.
 * Backpressure comes from the primary only; a mirror that lags too far is cut off (its request fails, not ours).
 */
function teeBody(body: Readable, copy: PassThrough): Readable {
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!copy.destroyed) {
        if (copy.writableLength > MIRROR_MAX_BUFFER) copy.destroy(new Error('mirror fell behind; copy dropped'));
        else copy.write(chunk);
      }
      callback(null, chunk);
    },
    flush(callback) {
      copy.end();
      callback();
    },
  });
  pipeline(body, tee, (err) => {
    if (err) copy.destroy(err);
  });
  return tee;
}

const discardSink: ResponseSink = {
  onResponseStart: () => true,
  onResponseData: () => true,
  onResponseEnd: () => {},
  onResponseError: () => {},
};
