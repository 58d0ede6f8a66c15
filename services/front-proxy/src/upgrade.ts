/**
 * HTTP/1.1 Upgrade (WebSocket and friends): match like any request, check the protocol against the rule's
 * `upgrades` (default websocket; h2c never), hand the handshake to the backend under the rule's request timeout,
 * then splice the two sockets. Every handshake writes one access log line, 101 or not. The tunnel holds no
 * snapshot state, so config changes never touch it.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { nextTraceparent } from '@portico/observability';
import {
  type CallHandle,
  type ClusterRequest,
  hashKeyFor,
  type ResponseSink,
  type UpstreamError,
} from '@portico/upstream';
import {
  BackendNotFoundError,
  NoBackendError,
  ProxyTimeoutError,
  UpgradeNotAllowedError,
  UpstreamFailureError,
} from './errors.ts';
import { rewritePath } from './filters.ts';
import {
  clientAddress,
  endToEndResponseHeaders,
  forwardedHeadList,
  forwardingClient,
  type HeaderMap,
  requestIdOf,
} from './forwarding.ts';
import { clientIp, type HandlerContext, resolveRoute } from './handler.ts';
import { type CompiledRule, pickBackend, type RouteObserver } from './snapshot.ts';

function writeHead(socket: Duplex, status: number, headers: HeaderMap): void {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  socket.write(`${head}\r\n`);
}

/** The protocol names an Upgrade field offers, lower-case, versions dropped (`WebSocket/13` -> `websocket`). */
export function upgradeProtocols(value: string | undefined): string[] {
  const out: string[] = [];
  for (const item of (value ?? '').split(',')) {
    const token = item.trim();
    if (token === '') continue;
    const slash = token.indexOf('/');
    out.push((slash === -1 ? token : token.slice(0, slash)).toLowerCase());
  }
  return out;
}

/**
 * The HTTP/1.1 server's `shouldUpgradeCallback`: a request whose Upgrade offers only h2c is served as the plain
 * HTTP/1.1 request it also is (RFC 9110 §7.8 lets a server ignore Upgrade; `curl --http2 http://...` sends one),
 * and never tunnelled. Every other Upgrade goes to the upgrade handler, which checks it against the rule.
 */
export function shouldUpgrade(req: IncomingMessage): boolean {
  const value = req.headers.upgrade;
  if (value === undefined) return false;
  const offered = upgradeProtocols(value);
  return offered.length === 0 || offered.some((p) => p !== 'h2c');
}

/** Why this handshake may not be tunnelled on this rule; undefined when it may. */
function refusal(req: IncomingMessage, method: string, rule: CompiledRule): UpgradeNotAllowedError | undefined {
  const offered = upgradeProtocols(req.headers.upgrade);
  const refuse = (message: string) => new UpgradeNotAllowedError(rule.route, message, rule.upgrades);
  if (offered.length === 0) return refuse('empty Upgrade header');
  for (const protocol of offered) {
    // HTTP/2 is spoken to the proxy with prior knowledge or ALPN, never tunnelled to a backend.
    if (protocol === 'h2c' || !rule.upgrades.has(protocol)) return refuse(`upgrade to "${protocol}" is not allowed`);
  }
  // RFC 6455 §4.1: a WebSocket handshake is a GET with a key; anything else would tunnel a plain request.
  if (offered.includes('websocket') && (method !== 'GET' || req.headers['sec-websocket-key'] === undefined))
    return refuse('a WebSocket handshake is a GET with Sec-WebSocket-Key');
  return undefined;
}

/** One Upgrade request from matching to its access log line. Also the sink of the backend's answer. */
class UpgradeExchange implements ResponseSink {
  readonly start = performance.now();
  readonly ctx: HandlerContext;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly peer: string;
  readonly client: string;
  readonly requestId: string;
  path: string;
  route = '';
  backend = '';
  status = 0;
  observer: RouteObserver | undefined;
  /** The answer to the client is decided (101, an error, or the backend's own response head). */
  answered = false;
  logged = false;
  timer: NodeJS.Timeout | undefined;
  call: CallHandle | undefined;
  rule: CompiledRule | undefined;
  /** Bytes the client sent after the handshake head: the tunnel's first bytes. */
  head: Buffer = Buffer.alloc(0);

  constructor(ctx: HandlerContext, req: IncomingMessage, socket: Duplex) {
    this.ctx = ctx;
    this.req = req;
    this.socket = socket;
    this.peer = clientIp(req);
    this.client = clientAddress(this.peer, req.headers, ctx.trustedProxies);
    this.requestId = requestIdOf(req.headers);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
  }

  /** The access log line, in the request handler's shape, once per handshake. */
  finish(): void {
    if (this.logged) return;
    this.logged = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const seconds = (performance.now() - this.start) / 1000;
    this.observer?.observe(this.status, seconds);
    if (!this.ctx.accessLog) return;
    const req = this.req;
    this.ctx.logger.info({
      msg: 'access',
      requestId: this.requestId,
      method: req.method,
      host: req.headers.host,
      path: this.path,
      status: this.status,
      ms: Math.round(seconds * 1e5) / 100,
      route: this.route,
      backend: this.backend,
      client: this.client,
      ua: req.headers['user-agent'],
      upgrade: req.headers.upgrade,
    });
  }

  /** A JSON error and the end of the connection: after a refused Upgrade the socket is in no known state. */
  fail(err: PorticoError): void {
    this.status = err.status;
    if (!this.answered && this.socket.writable) {
      this.answered = true;
      const body = JSON.stringify(err.toJSON());
      writeHead(this.socket, err.status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': this.requestId,
        connection: 'close',
      });
      this.socket.end(body);
    } else this.socket.destroy();
    this.finish();
  }

  onTimeout(ms: number): void {
    this.timer = undefined;
    if (this.answered) return;
    this.fail(new ProxyTimeoutError(this.route, ms));
    this.call?.abort();
  }

  onUpgrade(statusCode: number, upstreamHeaders: HeaderMap, upstream: Duplex): void {
    const socket = this.socket;
    if (this.answered || socket.destroyed) {
      upstream.destroy();
      // Timed out (already logged), or the client left while the backend said yes.
      if (!this.logged) {
        this.status = 499;
        this.finish();
      }
      return;
    }
    this.answered = true;
    const out = endToEndResponseHeaders(upstreamHeaders);
    this.rule!.responseHeaders?.(out);
    out.connection = 'Upgrade';
    out.upgrade = (upstreamHeaders.upgrade as string | undefined) ?? String(this.req.headers.upgrade);
    out['x-request-id'] ??= this.requestId;
    writeHead(socket, statusCode, out);
    this.status = statusCode;
    this.finish();
    if (this.head.length > 0) upstream.write(this.head);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.pipe(socket);
    socket.pipe(upstream);
  }

  // The backend declined the upgrade: relay its answer and close.
  onResponseStart(statusCode: number, upstreamHeaders: HeaderMap): boolean {
    if (this.answered || this.socket.destroyed) return false;
    this.answered = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const out = endToEndResponseHeaders(upstreamHeaders);
    this.rule!.responseHeaders?.(out);
    out['x-request-id'] ??= this.requestId;
    out.connection = 'close';
    writeHead(this.socket, statusCode, out);
    this.status = statusCode;
    return true;
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.socket.write(chunk)) return true;
    this.socket.once('drain', () => this.call?.resume());
    return false;
  }

  onResponseEnd(): void {
    this.socket.end();
    this.finish();
  }

  onResponseError(err: UpstreamError): void {
    if (this.logged) return;
    if (err.code === 'PORTICO_ERR_UPSTREAM_ABORTED') {
      // 499: the client went away; nobody is left to answer.
      this.status = err.status;
      this.socket.destroy();
      return this.finish();
    }
    // The client hears the code and status; the endpoint and the transport's words stay in the logs.
    this.fail(new UpstreamFailureError(err.code, err.status, this.route, this.backend));
  }
}

export function createUpgradeHandler(ctx: HandlerContext, scheme: 'http' | 'https') {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const ex = new UpgradeExchange(ctx, req, socket);
    ex.head = head;
    const resolved = resolveRoute(ctx.current(), req, ctx.pathPolicy);
    if (isPorticoError(resolved)) return ex.fail(resolved);
    const { target, authority, method, match, rule } = resolved;
    ex.path = target.path;
    ex.rule = rule;
    ex.route = rule.route;
    ex.observer = rule.observer;
    const refused = refusal(req, method, rule);
    if (refused !== undefined) return ex.fail(refused);
    const backend = pickBackend(rule);
    if (backend === undefined) return ex.fail(new NoBackendError(rule.route));
    ex.backend = backend.name;
    ex.observer = backend.observer;
    if (backend.cluster === undefined) return ex.fail(new BackendNotFoundError(rule.route, backend.name));

    // The WebSocket handshake fields (sec-websocket-*) travel on; undici writes Connection and Upgrade itself.
    const headers = forwardedHeadList(
      req.headers,
      forwardingClient(ex.peer, ex.client, ctx.trustedProxies, scheme, authority, req.httpVersion),
      rule.rewrite?.hostname ?? authority,
      nextTraceparent(req.headers.traceparent as string | undefined),
      ex.requestId,
    );
    rule.requestHeaders?.(headers);
    let path = target.path;
    if (rule.rewrite?.path !== undefined) path = rewritePath(path, rule.rewrite.path, match.matchedPrefix);
    // timeouts.request covers the handshake: until the 101 (or the backend's refusal) arrives.
    const timeoutMs = rule.requestTimeoutMs;
    if (timeoutMs !== undefined) ex.timer = setTimeout(() => ex.onTimeout(timeoutMs), timeoutMs);
    const request: ClusterRequest = {
      method,
      path: target.query === '' ? path : `${path}?${target.query}`,
      headers,
      body: null,
      upgrade: String(req.headers.upgrade),
      // A handshake counts against the client's share of the Service's connections like any request.
      clientKey: ex.client,
    };
    const hashKey = hashKeyFor(backend.loadBalancer, req.headers, ex.client);
    if (hashKey !== undefined) request.hashKey = hashKey;
    if (rule.backendTimeoutMs !== undefined) request.backendTimeoutMs = rule.backendTimeoutMs;
    ex.call = backend.cluster.dispatch(request, ex);
    socket.once('close', () => ex.call?.abort());
  };
}
