/**
 * The request path: match, apply the rule's filters, forward to a backend cluster and stream the answer back.
 * Everything a request needs comes from the snapshot it started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { type Duplex, pipeline, type Readable, Transform } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { type Logger, nextTraceparent } from '@portico/observability';
import { type ClusterRequest, hashKeyFor, type ResponseSink, type UpstreamError } from '@portico/upstream';
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
import { addForwardingHeaders, endToEndHeaders, endToEndResponseHeaders, type HeaderMap } from './forwarding.ts';
import { parseTarget } from './paths.ts';
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

/** What one request carries from matching to the access log. */
interface Exchange {
  start: number;
  req: ProxyRequest;
  res: ProxyResponse;
  route: string;
  backend: string;
  status: number;
  requestId: string | undefined;
  observer: RouteObserver | undefined;
  done: boolean;
  /** Read up front: a keep-alive socket may be detached by the time the access log is written. */
  client: string;
}

export function createRequestHandler(ctx: HandlerContext, listener: Listener) {
  const finish = (ex: Exchange): void => {
    ex.done = true;
    const seconds = (performance.now() - ex.start) / 1000;
    ex.observer?.observe(ex.status, seconds);
    if (ctx.accessLog) {
      ctx.logger.info({
        msg: 'access',
        requestId: ex.requestId,
        method: ex.req.method,
        host: ex.req.headers[':authority'] ?? ex.req.headers.host,
        path: ex.req.url,
        status: ex.status,
        ms: Math.round(seconds * 1e5) / 100,
        route: ex.route,
        backend: ex.backend,
        client: ex.client,
        ua: ex.req.headers['user-agent'],
      });
    }
  };

  const fail = (ex: Exchange, err: PorticoError): void => {
    ex.status = err.status;
    sendError(ex.res, err, ex.requestId);
    finish(ex);
  };

  return function handleRequest(req: ProxyRequest, res: ProxyResponse): void {
    const snapshot = ctx.current();
    const ex: Exchange = {
      start: performance.now(),
      req,
      res,
      route: '',
      backend: '',
      status: 0,
      requestId: undefined,
      observer: undefined,
      done: false,
      client: clientIp(req),
    };
    let target: ReturnType<typeof parseTarget>;
    try {
      target = parseTarget(req.url ?? '/');
    } catch (err) {
      return fail(ex, toProxyError(err));
    }
    const host = hostOf(req);
    if (host === '')
      return fail(ex, new BadRequestError('missing Host header', [{ path: 'host', message: 'required' }]));
    const method = req.method ?? 'GET';
    const match = snapshot.table.match({ host, path: target.path, query: target.query, method, headers: req.headers });
    if (match === null) return fail(ex, new NoRouteError(host, target.path));
    const rule = snapshot.rules.get(match.route)![match.ruleIndex]!;
    ex.route = rule.route;
    ex.observer = rule.observer;

    let corsOrigin: string | undefined;
    const origin = req.headers.origin;
    if (rule.cors !== undefined && typeof origin === 'string') {
      corsOrigin = rule.cors.allowOrigin(origin);
      if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        return preflight(ex, rule, corsOrigin, req.headers['access-control-request-headers']);
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
      return finish(ex);
    }

    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > ctx.maxBodyBytes)
      return fail(ex, new BodyTooLargeError(ctx.maxBodyBytes));

    const backend = pickBackend(rule);
    if (backend === undefined) return fail(ex, new NoBackendError(rule.route));
    ex.backend = backend.name;
    ex.observer = backend.observer;
    if (backend.cluster === undefined) return fail(ex, new BackendNotFoundError(rule.route, backend.name));

    const headers = endToEndHeaders(req.headers);
    const ip = ex.client;
    ex.requestId = addForwardingHeaders(headers, {
      ip,
      proto: listener.scheme,
      host: (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? host,
      httpVersion: req.httpVersion,
    });
    headers.traceparent = nextTraceparent(req.headers.traceparent as string | undefined);
    headers.host =
      rule.rewrite?.hostname ?? (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? host;
    let path = target.path;
    if (rule.rewrite?.path !== undefined) path = rewritePath(path, rule.rewrite.path, match.matchedPrefix);
    rule.requestHeaders?.(headers);
    const pathAndQuery = target.query === '' ? path : `${path}?${target.query}`;

    const body = hasBody(req) ? limitBody(req, length === undefined ? ctx.maxBodyBytes : undefined) : null;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (rule.requestTimeoutMs !== undefined) {
      const ms = rule.requestTimeoutMs;
      timer = setTimeout(() => {
        // Answer first: aborting makes the upstream report its own (499) error synchronously.
        if (!res.headersSent) fail(ex, new ProxyTimeoutError(rule.route, ms));
        else res.destroy();
        abort.abort();
      }, ms);
    }
    res.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      // The client went away before the answer was complete: cancel the upstream request.
      if (!ex.done) abort.abort();
    });

    for (const mirror of rule.mirrors) {
      if (body !== null || mirror.cluster === undefined) continue;
      if (mirror.percent < 100 && Math.random() * 100 >= mirror.percent) continue;
      mirror.cluster.dispatch({ method, path: pathAndQuery, headers: { ...headers }, body: null }, discardSink);
    }

    const request: ClusterRequest = {
      method,
      path: pathAndQuery,
      headers,
      body,
      hashKey: hashKeyFor(backend.loadBalancer, req.headers, ip),
      signal: abort.signal,
    };
    if (rule.retry !== undefined) request.retry = rule.retry;
    if (rule.backendTimeoutMs !== undefined) request.backendTimeoutMs = rule.backendTimeoutMs;

    backend.cluster.dispatch(request, {
      onResponseStart(statusCode, upstreamHeaders, resume) {
        if (res.destroyed) return false;
        const out = endToEndResponseHeaders(upstreamHeaders);
        rule.responseHeaders?.(out);
        if (corsOrigin !== undefined) addCorsHeaders(out, rule, corsOrigin);
        out['x-request-id'] ??= ex.requestId!;
        ex.status = statusCode;
        (res as ServerResponse).writeHead(statusCode, out);
        res.on('drain', resume);
        return true;
      },
      onResponseData(chunk) {
        return (res as ServerResponse).write(chunk);
      },
      onResponseEnd(trailers) {
        if (timer !== undefined) clearTimeout(timer);
        if (Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
        res.end();
        finish(ex);
      },
      onResponseError(err: UpstreamError) {
        if (timer !== undefined) clearTimeout(timer);
        if (ex.done) return;
        // 499: the client went away; nobody is left to answer.
        if (abort.signal.aborted) {
          ex.status = err.status;
          res.destroy();
          return finish(ex);
        }
        fail(ex, err);
      },
    });
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
    finish(ex);
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

const discardSink: ResponseSink = {
  onResponseStart: () => true,
  onResponseData: () => true,
  onResponseEnd: () => {},
  onResponseError: () => {},
};

export type UpgradeSocket = Duplex;
