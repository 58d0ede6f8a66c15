/**
 * HTTP/1.1 Upgrade (WebSocket and friends): the same pipeline as any request (policies, filters, backend), with
 * the protocol checked against the rule's `upgrades` (default websocket; h2c never) first; the handshake goes to
 * the backend under the rule's request timeout, then the two sockets are spliced. Every handshake writes one
 * access log line, 101 or not. The tunnel holds no snapshot state, so config changes never touch it.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { PorticoError } from '@portico/errors';
import type { UpstreamError } from '@portico/upstream';
import { ProxyTimeoutError, UpgradeNotAllowedError, UpstreamFailureError } from './errors.ts';
import { Exchange, type HandlerContext } from './exchange.ts';
import { endToEndResponseHeaders, type HeaderMap } from './forwarding.ts';
import type { Listener } from './pipeline/phases.ts';
import type { CompiledRule } from './snapshot/snapshot.ts';

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

/** One Upgrade handshake. Also the sink of the backend's answer: a 101 and its socket, or a refusal. */
class UpgradeExchange extends Exchange {
  readonly upgrade = true;
  declare readonly req: IncomingMessage;
  readonly socket: Duplex;
  /** Bytes the client sent after the handshake head: the tunnel's first bytes. */
  readonly head: Buffer;
  /** The answer to the client is decided (101, an error, or the backend's own response head). */
  answered = false;

  constructor(ctx: HandlerContext, req: IncomingMessage, socket: Duplex, head: Buffer, listener: Listener) {
    super(ctx, req, listener);
    this.socket = socket;
    this.head = head;
  }

  get settled(): boolean {
    return this.answered || this.finished;
  }

  loggedPath(): string {
    const url = this.req.url ?? '/';
    const q = url.indexOf('?');
    return this.resolved?.target.path ?? (q === -1 ? url : url.slice(0, q));
  }

  refused(): boolean {
    const refused = refusal(this.req, this.resolved.method, this.resolved.rule);
    if (refused === undefined) return false;
    this.fail(refused);
    return true;
  }

  requestBody(): Readable | null {
    return null;
  }

  watchClient(): void {
    this.socket.once('close', () => this.call?.abort());
  }

  /** An answer of the pipeline's own (a redirect, a refusal by a policy), then the end of the connection. */
  respond(status: number, headers: HeaderMap, body = ''): void {
    this.status = status;
    if (!this.answered && this.socket.writable) {
      this.answered = true;
      headers['x-request-id'] ??= this.requestId;
      headers.connection = 'close';
      writeHead(this.socket, status, headers);
      this.socket.end(body);
    } else this.socket.destroy();
    this.finish();
  }

  /** A JSON error and the end of the connection: after a refused Upgrade the socket is in no known state. */
  fail(err: PorticoError): void {
    const body = JSON.stringify(err.toJSON());
    this.respond(
      err.status,
      { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      body,
    );
  }

  onTimeout(ms: number): void {
    if (this.answered) return;
    this.fail(new ProxyTimeoutError(this.route, ms));
    this.call?.abort();
  }

  onUpgrade(statusCode: number, upstreamHeaders: HeaderMap, upstream: Duplex): void {
    const socket = this.socket;
    if (this.answered || socket.destroyed) {
      upstream.destroy();
      // Timed out (already logged), or the client left while the backend said yes.
      if (!this.finished) {
        this.status = 499;
        this.finish();
      }
      return;
    }
    this.answered = true;
    const out = endToEndResponseHeaders(upstreamHeaders);
    this.responseHead(out);
    out.connection = 'Upgrade';
    out.upgrade = (upstreamHeaders.upgrade as string | undefined) ?? String(this.req.headers.upgrade);
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
    this.responseHead(out);
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
    if (this.finished) return;
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

/** The `upgrade` listener of an HTTP/1.1 server on one listener. */
export function createUpgradeHandler(ctx: HandlerContext, listener: Listener) {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    new UpgradeExchange(ctx, req, socket, head, listener).run();
  };
}
