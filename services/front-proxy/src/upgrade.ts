/**
 * HTTP/1.1 Upgrade (WebSocket and friends): match like any request, hand the handshake to the backend,
 * then splice the two sockets. The tunnel holds no snapshot state, so config changes never touch it.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { isPorticoError, type PorticoError } from '@portico/errors';
import { nextTraceparent } from '@portico/observability';
import { hashKeyFor } from '@portico/upstream';
import { BackendNotFoundError, NoBackendError } from './errors.ts';
import { rewritePath } from './filters.ts';
import { endToEndResponseHeaders, forwardedHeadList, type HeaderMap, requestIdOf } from './forwarding.ts';
import { clientIp, type HandlerContext, resolveRoute } from './handler.ts';
import { pickBackend } from './snapshot.ts';

function writeHead(socket: Duplex, status: number, headers: HeaderMap): void {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  socket.write(`${head}\r\n`);
}

function reject(socket: Duplex, err: PorticoError): void {
  const body = JSON.stringify(err.toJSON());
  writeHead(socket, err.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  });
  socket.end(body);
}

export function createUpgradeHandler(ctx: HandlerContext, scheme: 'http' | 'https') {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const resolved = resolveRoute(ctx.current(), req);
    if (isPorticoError(resolved)) return reject(socket, resolved);
    const { target, host, method, match, rule } = resolved;
    const backend = pickBackend(rule);
    if (backend === undefined) return reject(socket, new NoBackendError(rule.route));
    if (backend.cluster === undefined) return reject(socket, new BackendNotFoundError(rule.route, backend.name));

    const ip = clientIp(req);
    const authority = req.headers.host ?? host;
    // The WebSocket handshake fields (sec-websocket-*) travel on; undici writes Connection and Upgrade itself.
    const requestId = requestIdOf(req.headers);
    const headers = forwardedHeadList(
      req.headers,
      { ip, proto: scheme, host: authority, httpVersion: req.httpVersion },
      rule.rewrite?.hostname ?? authority,
      nextTraceparent(req.headers.traceparent as string | undefined),
      requestId,
    );
    rule.requestHeaders?.(headers);
    let path = target.path;
    if (rule.rewrite?.path !== undefined) path = rewritePath(path, rule.rewrite.path, match.matchedPrefix);
    const start = performance.now();
    const observe = (status: number) => backend.observer.observe(status, (performance.now() - start) / 1000);
    const call = backend.cluster.dispatch(
      {
        method,
        path: target.query === '' ? path : `${path}?${target.query}`,
        headers,
        body: null,
        upgrade: String(req.headers.upgrade ?? 'websocket'),
        hashKey: hashKeyFor(backend.loadBalancer, req.headers, ip),
      },
      {
        onUpgrade(statusCode, upstreamHeaders, upstream) {
          const out = endToEndResponseHeaders(upstreamHeaders);
          rule.responseHeaders?.(out);
          out.connection = 'Upgrade';
          out.upgrade = (upstreamHeaders.upgrade as string | undefined) ?? String(req.headers.upgrade);
          out['x-request-id'] ??= requestId;
          writeHead(socket, statusCode, out);
          observe(statusCode);
          if (head.length > 0) upstream.write(head);
          upstream.on('error', () => socket.destroy());
          socket.on('error', () => upstream.destroy());
          upstream.on('close', () => socket.destroy());
          socket.on('close', () => upstream.destroy());
          upstream.pipe(socket);
          socket.pipe(upstream);
        },
        onResponseStart(statusCode, upstreamHeaders) {
          // The backend declined the upgrade: relay its answer and close.
          const out = endToEndResponseHeaders(upstreamHeaders);
          out.connection = 'close';
          writeHead(socket, statusCode, out);
          observe(statusCode);
          return true;
        },
        onResponseData(chunk) {
          return socket.write(chunk);
        },
        onResponseEnd() {
          socket.end();
        },
        onResponseError(err) {
          observe(err.status);
          if (socket.writable) reject(socket, err);
          else socket.destroy();
        },
      },
    );
    socket.once('close', () => call.abort());
  };
}
