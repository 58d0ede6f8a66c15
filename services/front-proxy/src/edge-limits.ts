/**
 * How the listeners defend themselves before a request reaches the handler: HTTP/1.1 parser verdicts and timeouts,
 * HTTP/2 session and stream limits, TLS handshake failures. Every refusal goes through EdgeRejections (one
 * rate-limited warn line and a counter). The values come from front-proxy.ts's DEFAULTS.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Http2SecureServer, Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';
import { constants as h2 } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BadRequestError, ClientTimeoutError, HeadersTooLargeError, type ProxyError } from '@portico/dataplane';
import type { RouteObserver } from '@portico/observability';
import type { EdgeRejections } from './edge-rejections.ts';

export interface Http1Timeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface Http2Limits {
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, advertised and enforced (RST_STREAM ENHANCE_YOUR_CALM above it). */
  maxHeaderListSize: number;
  maxSessionMemoryMb: number;
  sessionIdleTimeoutMs: number;
  streamIdleTimeoutMs: number;
  streamResetBurst: number;
  streamResetRate: number;
}

/**
 * Node enforces headersTimeout/requestTimeout only when it sweeps its connection list (every 30 s by default,
 * which would let a slow head live 30 s past its deadline): sweep at a quarter of the shortest one, at most 1 s.
 */
export function connectionsCheckingInterval(t: Http1Timeouts): number {
  const shortest = t.requestTimeoutMs > 0 ? Math.min(t.headersTimeoutMs, t.requestTimeoutMs) : t.headersTimeoutMs;
  return Math.max(25, Math.min(1000, Math.floor(shortest / 4)));
}

/** The options node:http (and the HTTP/1.1 side of the TLS server) take for these timeouts. */
export function http1ServerOptions(t: Http1Timeouts) {
  return {
    headersTimeout: t.headersTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: connectionsCheckingInterval(t),
  };
}

/** The options node:http2 servers take for these limits (h2c and TLS alike). */
export function http2ServerOptions(l: Http2Limits) {
  return {
    settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListSize },
    maxSessionMemory: l.maxSessionMemoryMb,
    streamResetBurst: l.streamResetBurst,
    streamResetRate: l.streamResetRate,
  };
}

export function checkHttp1Timeouts(t: Http1Timeouts): void {
  const ms = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new TypeError(`${name} must be an integer >= ${min} (ms), got ${v}`);
  };
  ms('headersTimeoutMs', t.headersTimeoutMs, 1);
  ms('requestTimeoutMs', t.requestTimeoutMs, 0);
  ms('keepAliveTimeoutMs', t.keepAliveTimeoutMs, 0);
  ms('idleTimeoutMs', t.idleTimeoutMs, 0);
  // Node's own rule: the head is part of the request.
  if (t.requestTimeoutMs > 0 && t.requestTimeoutMs < t.headersTimeoutMs)
    throw new TypeError(
      `requestTimeoutMs (${t.requestTimeoutMs}) must be 0 or >= headersTimeoutMs (${t.headersTimeoutMs})`,
    );
}

export function checkHttp2Limits(l: Http2Limits): void {
  const int = (name: string, v: number, min: number, max = 2 ** 31 - 1) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new TypeError(`${name} must be an integer ${min}..${max}, got ${v}`);
  };
  int('http2MaxConcurrentStreams', l.maxConcurrentStreams, 1);
  int('http2MaxSessionMemoryMb', l.maxSessionMemoryMb, 1);
  int('http2SessionIdleTimeoutMs', l.sessionIdleTimeoutMs, 0);
  int('http2StreamIdleTimeoutMs', l.streamIdleTimeoutMs, 0);
  int('http2StreamResetBurst', l.streamResetBurst, 1);
  int('http2StreamResetRate', l.streamResetRate, 1);
}

type ParserSocket = Duplex & {
  remoteAddress?: string;
  parser?: { incoming?: { complete?: boolean } | null } | null;
  /** The response in flight on an HTTP/1.1 connection (node:http's own field). */
  _httpMessage?: { headersSent?: boolean } | null;
};

/**
 * HTTP/1.1 `clientError`: the parser's verdict (400, 431) or Node's headers/request timeout (408) becomes a JSON
 * answer and a closed connection, counted and logged; nothing reaches a backend. Also counted in
 * portico_http_requests_total under route="" backend="".
 */
export function createClientErrorHandler(edge: EdgeRejections, unrouted: RouteObserver, t: Http1Timeouts) {
  return function onClientError(err: NodeJS.ErrnoException, socket: ParserSocket): void {
    // Only the parser's verdicts and Node's request timeouts get an answer. Socket errors (a client that left)
    // and, on the TLS port, failed handshakes (counted by the tlsClientError handler) are closed quietly.
    const code = err.code ?? '';
    if (!(code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT') || !socket.writable) {
      socket.destroy();
      return;
    }
    let error: ProxyError;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      error = new HeadersTooLargeError();
      edge.reject('headers_too_large', { client: socket.remoteAddress });
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Head complete and body still coming: the request timeout; otherwise the head was too slow.
      const body = socket.parser?.incoming?.complete === false;
      error = body
        ? new ClientTimeoutError('request', t.requestTimeoutMs)
        : new ClientTimeoutError('head', t.headersTimeoutMs);
      edge.reject(body ? 'request_timeout' : 'headers_timeout', { client: socket.remoteAddress });
    } else {
      error = new BadRequestError(`malformed request: ${err.message}`, [
        { path: 'request', message: err.code ?? 'parse error' },
      ]);
      // The code only: the parser's message can quote the client's bytes.
      edge.reject('bad_request', { client: socket.remoteAddress, code: err.code });
    }
    unrouted.observe(error.status, 0);
    // An answer already under way cannot take a second status line: cut it.
    if (socket._httpMessage?.headersSent === true) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(error.toJSON());
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * The server's `timeout` event (server.timeout = idleTimeoutMs): an HTTP/1.1 socket moved no byte for that long.
 * Between requests that is an ordinary keep-alive expiry (closed quietly); in the middle of a request it is a
 * stalled client (closed, counted, logged). HTTP/2 sessions also raise this event on the TLS server: their idle
 * timeout is handled per session below.
 */
export function createIdleHandler(edge: EdgeRejections) {
  return function onIdle(target: ParserSocket | Http2Session): void {
    if (typeof (target as Http2Session).goaway === 'function') return;
    const socket = target as ParserSocket;
    if (socket._httpMessage != null) edge.reject('idle_timeout', { client: socket.remoteAddress });
    socket.destroy();
  };
}

/** Per-session bookkeeping, kept on the session and its streams under a symbol. */
interface SessionRecord {
  open: number;
  /** Streams the client reset while the session was healthy. */
  resets: number;
  error: Error | undefined;
  openAtError: number;
  readonly limits: Http2Limits;
  readonly edge: EdgeRejections;
  readonly client: string | undefined;
}

const RECORD = Symbol('portico.edge');
type Tracked<T> = T & { [RECORD]?: SessionRecord };

/**
 * Session idle timeout (GOAWAY once no stream is open), per-stream idle timeout (RST_STREAM CANCEL), and a warn
 * line for every session nghttp2 ends with GOAWAY: streams over the limit, the reset rate limit
 * (streamResetBurst/streamResetRate) and invalid frames all surface as the same "Protocol error", so the metric
 * has one reason for them and the log line adds a guess from what the session showed JS (Node refuses streams
 * over the limit and counts those refusals as resets too, so exact reset counts are not visible here).
 */
export function guardHttp2(server: Http2Server | Http2SecureServer, limits: Http2Limits, edge: EdgeRejections): void {
  if (!streamChannelsSubscribed) {
    // Node publishes these synchronously while it reads the frames that open and close a stream; the 'stream' and
    // 'close' events come a tick later, after a reset flood has already ended the session. One subscriber for all
    // servers: a stream of a session guardHttp2 did not see is left alone.
    subscribe('http2.server.stream.created', onStreamCreated);
    subscribe('http2.server.stream.close', onStreamClosed);
    streamChannelsSubscribed = true;
  }
  server.on('session', (session: Tracked<Http2Session>) => {
    const rec: SessionRecord = {
      open: 0,
      resets: 0,
      error: undefined,
      openAtError: 0,
      limits,
      edge,
      client: session.socket?.remoteAddress,
    };
    session[RECORD] = rec;
    if (limits.sessionIdleTimeoutMs > 0) session.setTimeout(limits.sessionIdleTimeoutMs, onSessionIdle);
    session.once('close', onSessionClose);
  });
  server.on('stream', onStream);
  server.on('sessionError', (err: Error, session: Tracked<Http2Session>) => {
    const rec = session[RECORD];
    if (rec === undefined || rec.error !== undefined) return;
    rec.error = err;
    rec.openAtError = rec.open;
  });
}

function onSessionIdle(this: Tracked<Http2Session>): void {
  const rec = this[RECORD]!;
  if (this.closed || this.destroyed) return;
  // Open streams have their own idle timers; look again later.
  if (rec.open > 0) this.setTimeout(rec.limits.sessionIdleTimeoutMs, onSessionIdle);
  else this.close();
}

function onSessionClose(this: Tracked<Http2Session>): void {
  const rec = this[RECORD]!;
  const err = rec.error;
  if (err === undefined) return;
  const likely =
    rec.openAtError >= rec.limits.maxConcurrentStreams ? 'stream_limit' : rec.resets > 0 ? 'reset_rate' : 'protocol';
  rec.edge.reject('h2_session_error', {
    client: rec.client,
    code: (err as NodeJS.ErrnoException).code,
    error: err.message,
    resets: rec.resets,
    open: rec.openAtError,
    likely,
  });
}

function onStream(this: unknown, stream: Tracked<ServerHttp2Stream>): void {
  const rec = stream[RECORD];
  if (rec === undefined || stream.closed) return;
  if (rec.limits.streamIdleTimeoutMs > 0) stream.setTimeout(rec.limits.streamIdleTimeoutMs, onStreamIdle);
}

function onStreamIdle(this: Tracked<ServerHttp2Stream>): void {
  if (this.closed || this.destroyed) return;
  this[RECORD]!.edge.reject('h2_stream_idle', { client: this[RECORD]!.client });
  this.close(h2.NGHTTP2_CANCEL);
}

let streamChannelsSubscribed = false;

function onStreamCreated(message: unknown): void {
  const stream = (message as { stream: Tracked<ServerHttp2Stream> }).stream;
  const rec = (stream.session as Tracked<Http2Session> | undefined)?.[RECORD];
  if (rec === undefined) return;
  stream[RECORD] = rec;
  rec.open++;
}

function onStreamClosed(message: unknown): void {
  const stream = (message as { stream: Tracked<ServerHttp2Stream> }).stream;
  const rec = stream[RECORD];
  if (rec === undefined) return;
  rec.open--;
  // A reset before the answer ended (whatever its code); streams torn down with a failing session don't count.
  if ((stream.aborted || stream.rstCode !== h2.NGHTTP2_NO_ERROR) && stream.session?.destroyed === false) rec.resets++;
}

/** `tlsClientError`: a handshake that failed or took longer than the headers timeout. */
export function createTlsErrorHandler(edge: EdgeRejections) {
  return function onTlsClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Socket): void {
    // A client that connected and left (a TCP health check, say) is not worth a warning.
    if (err.code === 'ECONNRESET') return;
    const timeout = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    edge.reject(timeout ? 'tls_handshake_timeout' : 'tls_handshake', {
      client: socket.remoteAddress,
      code: err.code,
      ...(err.reason === undefined ? {} : { tlsReason: err.reason }),
    });
  };
}
