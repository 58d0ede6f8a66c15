/**
 * HTTP requests (HTTP/1.1 and HTTP/2) through the pipeline: the exchange answers through the server response and
 * streams the backend's answer into it, with backpressure both ways.
 */
import type { ServerResponse } from 'node:http';
import { type Http2ServerRequest, type Http2ServerResponse, constants as h2constants } from 'node:http2';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { PorticoError } from '@portico/errors';
import { type CallHandle, UpstreamError } from '@portico/upstream';
import { BodyTooLargeError, ProxyTimeoutError, UpstreamFailureError } from './errors.ts';
import { Exchange, type HandlerContext } from './exchange.ts';
import { endToEndResponseHeaders, type HeaderMap } from './forwarding.ts';
import type { Listener } from './pipeline/phases.ts';
import { type ProxyRequest, toProxyError } from './resolve.ts';

export type ProxyResponse = ServerResponse | Http2ServerResponse;

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

export class HttpExchange extends Exchange {
  readonly upgrade = false;
  readonly res: ProxyResponse;
  /** Made on the first backpressure only: most answers fit the socket buffer. */
  onDrain: (() => void) | undefined;
  /** HTTP/2 only: the response head, held until the first body chunk, the end, or the next turn of the loop. */
  head: HeaderMap | undefined;

  constructor(ctx: HandlerContext, req: ProxyRequest, res: ProxyResponse, listener: Listener) {
    super(ctx, req, listener);
    this.res = res;
  }

  get settled(): boolean {
    return this.finished;
  }

  loggedPath(): string | undefined {
    return loggedTarget(this.req.url);
  }

  refused(): boolean {
    const length = this.req.headers['content-length'];
    if (length === undefined || Number(length) <= this.ctx.maxBodyBytes) return false;
    this.fail(new BodyTooLargeError(this.ctx.maxBodyBytes), true);
    return true;
  }

  requestBody(): Readable | null {
    if (!hasBody(this.req)) return null;
    return this.req.headers['content-length'] === undefined ? limitBody(this, this.ctx.maxBodyBytes) : this.req;
  }

  watchClient(): void {
    (this.res as ProxyResponse & { [EXCHANGE]?: HttpExchange })[EXCHANGE] = this;
    // `on`, not `once`: a response closes once, and `once` would wrap the listener in a new closure per request.
    this.res.on('close', onResponseClose);
  }

  respond(status: number, headers: HeaderMap, body?: string): void {
    this.status = status;
    headers['x-request-id'] ??= this.requestId;
    (this.res as ServerResponse).writeHead(status, headers);
    if (body === undefined) this.res.end();
    else this.res.end(body);
    this.finish();
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

  /** Over the body limit: 413, the rest of the body is not read, and the upstream request is cancelled. */
  refuseBody(limit: number): void {
    if (this.finished) return;
    this.req.unpipe();
    this.req.pause();
    this.fail(new BodyTooLargeError(limit), true);
    // A cancel from our side: the cluster reports it as aborted (ignored, we are done), never against the endpoint.
    this.call?.abort();
  }

  /** The client went away (or the request timed out) before the answer was complete. */
  onClose(): void {
    if (!this.finished) this.call?.abort();
  }

  onTimeout(ms: number): void {
    if (this.finished) return;
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

  // The call handle is already kept: `this.call` is what dispatch() returned.
  onResponseStart(statusCode: number, upstreamHeaders: HeaderMap, _call: CallHandle): boolean {
    const res = this.res;
    if (res.destroyed) return false;
    const out = endToEndResponseHeaders(upstreamHeaders);
    this.responseHead(out);
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
    // Backpressure: the backend pauses until the client drains.
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
    if (this.finished) return;
    if (err.status === 499) {
      // The client went away (a cancel, or its body stream died); nobody is left to answer.
      this.status = err.status;
      this.res.destroy();
      return this.finish();
    }
    this.fail(err);
  }
}

function onResponseClose(this: ProxyResponse & { [EXCHANGE]?: HttpExchange }): void {
  this[EXCHANGE]?.onClose();
}

/** setImmediate's callback for a held HTTP/2 head: the answer goes on streaming, so the head goes now. */
function flushHead(ex: HttpExchange): void {
  if (ex.head === undefined || ex.finished) return;
  try {
    ex.writeHead();
  } catch (err) {
    // Thrown outside the backend's callbacks, where nothing else would catch it (a head Node refuses).
    ex.fail(toProxyError(err));
    ex.call?.abort();
  }
}

/**
 * Chunked bodies have no length up front: count them as they stream. At the limit the exchange answers 413 and
 * cancels the upstream request; the body stream is not failed, since the upstream would report that as its own
 * error (a 502 counted against the endpoint).
 */
class BodyLimit extends Transform {
  readonly ex: HttpExchange;
  readonly limit: number;
  seen = 0;
  refused = false;

  constructor(ex: HttpExchange, limit: number) {
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

function limitBody(ex: HttpExchange, limit: number): Readable {
  const counted = new BodyLimit(ex, limit);
  // pipe, not pipeline: a refused body must not destroy the request (and its socket) before the 413 is out.
  ex.req.pipe(counted);
  counted.on('close', onBodyLimitClose);
  return counted;
}

/** The request listener of an HTTP server (HTTP/1.1 or HTTP/2) on one listener. */
export function createRequestHandler(ctx: HandlerContext, listener: Listener) {
  return function handleRequest(req: ProxyRequest, res: ProxyResponse): void {
    new HttpExchange(ctx, req, res, listener).run();
  };
}
