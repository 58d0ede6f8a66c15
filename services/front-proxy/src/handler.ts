/**
 * The request path: match, apply the rule's filters, forward to a backend cluster and stream the answer back.
 * Everything a request needs comes from the snapshot it started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Http2ServerRequest, type Http2ServerResponse, constants as h2constants } from 'node:http2';
import { PassThrough, pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { type Logger, nextTraceparent } from '@portico/observability';
import type { RouteMatchResult } from '@portico/router';
import { type CallHandle, type ClusterRequest, hashKeyFor, type ResponseSink, UpstreamError } from '@portico/upstream';
import { hostOfAuthority, requestAuthority } from './authority.ts';
import {
  BackendNotFoundError,
  BadRequestError,
  BodyTooLargeError,
  NoBackendError,
  NoRouteError,
  ProxyError,
  ProxyTimeoutError,
  UpstreamFailureError,
} from './errors.ts';
import { redirectLocation, rewritePath } from './filters.ts';
import {
  clientAddress,
  endToEndResponseHeaders,
  forwardedHeadList,
  forwardingClient,
  type HeaderMap,
  requestIdOf,
  type TrustedProxies,
} from './forwarding.ts';
import { DEFAULT_PATH_POLICY, type PathPolicy, parseTarget, type Target } from './paths.ts';
import { type CompiledRule, pickBackend, type RouteObserver, type Snapshot } from './snapshot.ts';

export type ProxyRequest = IncomingMessage | Http2ServerRequest;
export type ProxyResponse = ServerResponse | Http2ServerResponse;

export interface HandlerContext {
  /** The snapshot new requests take. */
  current(): Snapshot;
  logger: Logger;
  accessLog: boolean;
  maxBodyBytes: number;
  /** Counts requests answered before a route matched (404, 400): route="" backend="", like backend="" before a backend. */
  unrouted: RouteObserver;

  /** Peers whose X-Forwarded-For is believed; undefined = none (the default). */
  trustedProxies: TrustedProxies | undefined;
  /** How odd request-target paths are refused or normalized (paths.ts); undefined = DEFAULT_PATH_POLICY. */
  pathPolicy?: Readonly<PathPolicy>;
}

interface Listener {
  scheme: 'http' | 'https';
  port: number;
}

export function clientIp(req: ProxyRequest): string {
  const ip = req.socket?.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export interface Resolved {
  target: Target;
  /** The authority that was matched, as the client sent it: the Host to forward (absolute-form's wins). */
  authority: string;
  host: string;
  method: string;
  match: RouteMatchResult;
  rule: CompiledRule;
}

/** Request target, host and the matching rule of the snapshot; the error to answer with when there is none. */
export function resolveRoute(
  snapshot: Snapshot,
  req: ProxyRequest,
  pathPolicy: Readonly<PathPolicy> = DEFAULT_PATH_POLICY,
): Resolved | PorticoError {
  let target: Target;
  try {
    target = parseTarget(req.url ?? '/', pathPolicy);
  } catch (err) {
    return toProxyError(err);
  }
  const authority = requestAuthority(req, target.authority);
  if (typeof authority !== 'string') return authority;
  const host = hostOfAuthority(authority);
  if (host === '') return new BadRequestError('missing Host header', [{ path: 'host', message: 'required' }]);
  const method = req.method ?? 'GET';
  const match = snapshot.table.match({ host, path: target.path, query: target.query, method, headers: req.headers });
  if (match === null) return new NoRouteError(host, target.path);
  return { target, authority, host, method, match, rule: snapshot.rules.get(match.route)![match.ruleIndex]! };
}

function hasBody(req: ProxyRequest): boolean {
  const h2 = (req as Http2ServerRequest).stream;
  if (h2 !== undefined) return !h2.endAfterHeaders;
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * `close`: the request body is refused, so the rest of it must not be read: HTTP/1.1 closes the connection after
 * the answer, HTTP/2 resets the stream with NO_ERROR after a complete answer (RFC 9113 §8.1).
 */
export function sendError(res: ProxyResponse, err: PorticoError, requestId?: string, close = false): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(err.toJSON());
  const headers: HeaderMap = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  if (close) return sendAndClose(res, err.status, headers, body);
  (res as ServerResponse).writeHead(err.status, headers);
  res.end(body);
}

function sendAndClose(res: ProxyResponse, status: number, headers: HeaderMap, body: string): void {
  const stream = (res as Http2ServerResponse).stream;
  if (stream === undefined) {
    headers.connection = 'close';
    (res as ServerResponse).writeHead(status, headers);
    res.end(body);
    return;
  }
  if (stream.destroyed) return;
  // The stream API, not the compat one: compat's end waits for trailers, and the reset would overtake END_STREAM.
  stream.respond({ ...headers, ':status': status });
  stream.end(body, () => stream.close(h2constants.NGHTTP2_NO_ERROR));
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
  readonly peer: string;
  /** The client address: the peer, or what a trusted proxy in front says (forwarding.ts). */
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
  /** HTTP/2 only: the response head, held until the first body chunk, the end, or the next turn of the loop. */
  head: HeaderMap | undefined;

  constructor(ctx: HandlerContext, req: ProxyRequest, res: ProxyResponse) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.observer = ctx.unrouted;
    this.peer = clientIp(req);
    this.client = clientAddress(this.peer, req.headers, ctx.trustedProxies);
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
        path: loggedTarget(req.url),
        status: this.status,
        ms: Math.round(seconds * 1e5) / 100,
        route: this.route,
        backend: this.backend,
        client: this.client,
        ua: req.headers['user-agent'],
      });
    }
  }

  /**
   * Answers with an error. An upstream error is told to the client by its code, a generic message and the route
   * and service only: its own message names endpoint addresses and the transport's words, so it goes to the log.
   */
  fail(err: PorticoError, close = false): void {
    this.status = err.status;
    this.head = undefined;
    let answer = err;
    if (err instanceof UpstreamError) {
      answer = new UpstreamFailureError(err.code, err.status, this.route, this.backend);
      // A client's own doing (its share of the Service, its body) is in the access log; only failures warn.
      if (err.status >= 500) this.logFailure('warn', err, 'upstream request failed');
    } else if (err.status >= 500) {
      this.logFailure(err.code === 'PORTICO_ERR_PROXY_INTERNAL' ? 'error' : 'warn', err, 'request failed');
    }
    sendError(this.res, answer, this.requestId, close);
    this.finish();
  }

  logFailure(level: 'warn' | 'error', err: unknown, msg: string): void {
    this.ctx.logger[level](
      { err, requestId: this.requestId, route: this.route, backend: this.backend, client: this.client },
      msg,
    );
  }

  /** Over the body limit: 413, the rest of the body is not read, and the upstream request is cancelled. */
  refuseBody(limit: number): void {
    if (this.done) return;
    this.req.unpipe();
    this.req.pause();
    this.fail(new BodyTooLargeError(limit), true);
    // A cancel from our side: the cluster reports it as aborted (ignored, we are done), never against the endpoint.
    this.call?.abort();
  }

  /** The client went away (or the request timed out) before the answer was complete. */
  onClose(): void {
    if (!this.done) this.call?.abort();
  }

  onTimeout(ms: number): void {
    this.timer = undefined;
    if (this.done) return;
    // Answer first: cancelling makes the cluster report its own (499) error synchronously.
    if (!this.res.headersSent) this.fail(new ProxyTimeoutError(this.route, ms));
    else {
      // The head is out, so the client sees a cut answer; the cause is the timeout: 504, not the 499 of a cancel.
      this.status = 504;
      this.logFailure('warn', new ProxyTimeoutError(this.route, ms), 'request timed out while answering');
      this.res.destroy();
      this.finish();
    }
    this.call?.abort();
  }

  /** 103 Early Hints carry their Link hints to the client; other 1xx belong to the upstream hop and are dropped. */
  onInformational(statusCode: number, headers: HeaderMap): void {
    const link = headers.link;
    if (statusCode !== 103 || link === undefined) return;
    const req = this.req;
    // An HTTP/1.0 client can't take a 1xx (RFC 9110 §15.2).
    if (this.res.headersSent || (req.httpVersionMajor === 1 && req.httpVersionMinor === 0)) return;
    try {
      (this.res as ServerResponse).writeEarlyHints({ link });
    } catch {
      // A Link value Node refuses: the hint is dropped, the answer goes on.
    }
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
    if ((res as Http2ServerResponse).stream === undefined) (res as ServerResponse).writeHead(statusCode, out);
    else {
      // HTTP/2: hold the head for this turn of the loop. An answer that ends at once (a gRPC trailers-only status)
      // then leaves as one HEADERS frame with END_STREAM; compat's writeHead + end adds an empty DATA frame after
      // HEADERS, and gRPC clients then lose the status. Streams still get their head without waiting for data.
      this.head = out;
      setImmediate(flushHead, this);
    }
    return true;
  }

  writeHead(): void {
    const head = this.head!;
    this.head = undefined;
    (this.res as ServerResponse).writeHead(this.status, head);
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.head !== undefined) this.writeHead();
    if ((this.res as ServerResponse).write(chunk)) return true;
    // Backpressure: the cluster pauses the upstream until the client drains.
    this.onDrain ??= () => this.call?.resume();
    this.res.once('drain', this.onDrain);
    return false;
  }

  onResponseEnd(trailers: HeaderMap): void {
    let hasTrailers = false;
    for (const _ in trailers) {
      hasTrailers = true;
      break;
    }
    if (this.head !== undefined) {
      if (!hasTrailers) return this.endWithHead();
      this.writeHead();
    }
    if (hasTrailers) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.finish();
  }

  /** HTTP/2, nothing but a head: one HEADERS frame with END_STREAM. */
  endWithHead(): void {
    const head = this.head as HeaderMap & { ':status'?: number };
    this.head = undefined;
    const stream = (this.res as Http2ServerResponse).stream;
    if (!stream.destroyed && !stream.headersSent) {
      head[':status'] = this.status;
      stream.respond(head, { endStream: true });
    }
    this.finish();
  }

  onResponseError(err: UpstreamError): void {
    if (this.done) return;
    if (err.status === 499) {
      // The client went away (a cancel, or its body stream died); nobody is left to answer.
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

/** setImmediate's callback for a held HTTP/2 head: the answer goes on streaming, so the head goes now. */
function flushHead(ex: Exchange): void {
  if (ex.head === undefined || ex.done) return;
  try {
    ex.writeHead();
  } catch (err) {
    // Thrown outside the upstream's callbacks, where nothing else would catch it (a head Node refuses).
    ex.fail(toProxyError(err));
    ex.call?.abort();
  }
}

/**
 * What the access log shows of a request target: the path, and of the query its keys only (`?access_token&page`).
 * Query values carry tokens and personal data; the keys still tell which parameters a client used.
 */
export function loggedTarget(url: string | undefined): string | undefined {
  const q = url === undefined ? -1 : url.indexOf('?');
  if (q === -1) return url;
  const query = url!.slice(q + 1);
  let out = url!.slice(0, q + 1);
  let first = true;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    out += first ? '' : '&';
    out += eq === -1 ? pair : pair.slice(0, eq);
    first = false;
  }
  return out;
}

const EXCHANGE = Symbol('portico.exchange');

export function createRequestHandler(ctx: HandlerContext, listener: Listener) {
  return function handleRequest(req: ProxyRequest, res: ProxyResponse): void {
    const ex = new Exchange(ctx, req, res);
    const resolved = resolveRoute(ctx.current(), req, ctx.pathPolicy);
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
      return ex.fail(new BodyTooLargeError(ctx.maxBodyBytes), true);

    const backend = pickBackend(rule);
    if (backend === undefined) return ex.fail(new NoBackendError(rule.route));
    ex.backend = backend.name;
    ex.observer = backend.observer;
    if (backend.cluster === undefined) return ex.fail(new BackendNotFoundError(rule.route, backend.name));

    const authority = resolved.authority;
    const requestId = requestIdOf(req.headers);
    ex.requestId = requestId;
    const headers = forwardedHeadList(
      req.headers,
      forwardingClient(ex.peer, ex.client, ctx.trustedProxies, listener.scheme, authority, req.httpVersion),
      rule.rewrite?.hostname ?? authority,
      nextTraceparent(req.headers.traceparent as string | undefined),
      requestId,
    );
    rule.requestHeaders?.(headers);
    let path = target.path;
    if (rule.rewrite?.path !== undefined) path = rewritePath(path, rule.rewrite.path, match.matchedPrefix);
    const pathAndQuery = target.query === '' ? path : `${path}?${target.query}`;
    let body = hasBody(req) ? (length === undefined ? limitBody(ex, ctx.maxBodyBytes) : req) : null;

    for (const mirror of rule.mirrors) {
      if (mirror.cluster === undefined) continue;
      if (mirror.percent < 100 && Math.random() * 100 >= mirror.percent) continue;
      let copy: PassThrough | null = null;
      if (body !== null) {
        copy = new PassThrough();
        body = teeBody(body, copy);
      }
      mirror.cluster.dispatch(
        { method, path: pathAndQuery, headers: headers.slice(), body: copy, clientKey: ex.client },
        discardSink,
      );
    }

    // clientKey: the cluster caps one client's share of a Service's connections by it.
    const request: ClusterRequest = { method, path: pathAndQuery, headers, body, clientKey: ex.client };
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

/**
 * Chunked bodies have no length up front: count them as they stream. At the limit the exchange answers 413 and
 * cancels the upstream request; the body stream is not failed, since the upstream would report that as its own
 * error (a 502 counted against the endpoint).
 */
class BodyLimit extends Transform {
  readonly ex: Exchange;
  readonly limit: number;
  seen = 0;
  refused = false;

  constructor(ex: Exchange, limit: number) {
    super();
    this.ex = ex;
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen <= this.limit) return callback(null, chunk);
    callback();
    if (this.refused) return;
    this.refused = true;
    this.ex.refuseBody(this.limit);
  }
}

/** As pipeline() would: the upstream dropped the body early (it failed or answered), so the upload has no reader. */
function onBodyLimitClose(this: BodyLimit): void {
  if (!this.refused && !this.writableFinished) this.ex.req.destroy();
}

function limitBody(ex: Exchange, limit: number): Readable {
  const counted = new BodyLimit(ex, limit);
  // pipe, not pipeline: a refused body must not destroy the request (and its socket) before the 413 is out.
  ex.req.pipe(counted);
  counted.on('close', onBodyLimitClose);
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
