/**
 * What a client gets back and what is logged, through a real front proxy with raw sockets: HTTP/1.1 as exact bytes
 * over node:net, HTTP/2 through a tap that reads every frame the proxy sends (the node:http2 client only decodes
 * header blocks; the assertions are on the frames). Covers gRPC trailers-only statuses, 1xx, refused bodies, what
 * error bodies reveal, access log redaction and statuses, unrouted requests in the metrics and the per-client limit.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  type ClientHttp2Session,
  connect as connectH2,
  createServer as createH2Server,
  type Http2Server,
  type IncomingHttpHeaders,
} from 'node:http2';
import {
  connect as connectNet,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { freePort, waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const LIMIT = 1024;
const bus = createMemoryBus();
const metrics = new ProxyMetrics(createMetricsRegistry());
const logs: Record<string, unknown>[] = [];
let proxy: FrontProxy;
let h1: Server;
let grpc: Http2Server;
let deadPort: number;
/** Requests the HTTP/1.1 backend saw complete, by path. */
const completed: string[] = [];

function resource(input: unknown): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...(input as object) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

function startH1Backend(): Promise<Server> {
  const server = createHttpServer((req, res) => {
    const url = req.url ?? '/';
    if (url.endsWith('/early')) {
      res.writeProcessing();
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style', 'x-secret': 'internal' });
      res.end('final');
      return;
    }
    if (url.endsWith('/stall')) {
      // Head and a first chunk, then nothing: the answer is under way when the client or a timeout ends it.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      completed.push(url);
      res.end(`got ${bytes}`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A gRPC backend's wire answers, written with the stream API so each is exactly the frames gRPC servers send. */
function startGrpcBackend(): Promise<Http2Server> {
  const server = createH2Server();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    const path = headers[':path'];
    if (path === '/grpc/NotFound') {
      // Trailers-only: one HEADERS frame with END_STREAM carrying the status.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'no such thing' },
        { endStream: true },
      );
    } else if (path === '/grpc/HeadersThenTrailers') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '7', 'grpc-message': 'denied' }));
      stream.end();
    } else {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  h1 = await startH1Backend();
  grpc = await startGrpcBackend();
  deadPort = await freePort();
  const h1Port = (h1.address() as { port: number }).port;
  const grpcPort = (grpc.address() as { port: number }).port;
  const service = (name: string, port: number, extra: object = {}) => ({
    kind: 'Service',
    metadata: { name },
    spec: { endpoints: [{ address: '127.0.0.1', port }], ...extra },
  });
  const route = (name: string, prefix: string, backend: string, extra: object = {}) => ({
    kind: 'Route',
    metadata: { name },
    spec: {
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: prefix } }], backendRefs: [{ name: backend }], ...extra },
      ],
    },
  });
  for (const doc of [
    // One 5xx ejects: a refused body counted against the endpoint would take it out of service.
    service('h1', h1Port, { outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 } }),
    service('grpc', grpcPort, { protocol: 'grpc' }),
    service('dead', deadPort),
    service('limited', h1Port, { connectionPool: { maxRequestsPerClient: 1 } }),
    route('h1', '/h1', 'h1'),
    route('slow', '/slow', 'h1', { timeouts: { request: '300ms' } }),
    route('grpc', '/grpc', 'grpc'),
    route('dead', '/dead', 'dead'),
    route('limited', '/limited', 'limited'),
  ])
    await bus.put(resource(doc));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    metrics,
    maxBodyBytes: LIMIT,
  });
});

after(async () => {
  // The stalled answers first: the proxy's pools would otherwise wait on them while closing.
  h1.closeAllConnections();
  await new Promise((r) => h1.close(r));
  await proxy.close();
  await new Promise((r) => grpc.close(r));
  await bus.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Raw HTTP/1.1

interface RawReply {
  text: string;
  /** The server closed the connection (FIN or reset) before the wait ran out. */
  closed: boolean;
}

/** Writes exact bytes and collects what comes back until the server closes or `waitMs` passes. */
function raw(bytes: string | Buffer, waitMs = 3000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connectNet(proxy.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => done(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? done(true) : reject(err)));
    socket.write(bytes);
  });
}

/** Opens a request and resolves once the response head has arrived; the socket stays open. */
function openUntilHead(bytes: string): Promise<{ socket: Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectNet(proxy.port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', function onData(c: Buffer) {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve({ socket, head: text });
      }
    });
    socket.write(bytes);
  });
}

interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** The final response of a raw reply (after any 1xx), with its informational heads kept apart. */
function parse(text: string): Parsed & { informational: Parsed[] } {
  const informational: Parsed[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end !== -1, `no complete head in ${JSON.stringify(text)}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine!.split(' ')[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    rest = rest.slice(end + 4);
    if (status >= 200) return { status, headers, body: rest, informational };
    informational.push({ status, headers, body: '' });
  }
}

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${extra}Connection: close\r\n\r\n`;
}

function accessLine(path: string): Promise<Record<string, unknown>> {
  return waitUntil(`the access log line of ${path}`, () => logs.find((l) => l.msg === 'access' && l.path === path));
}

async function requestsTotal(route: string, backend: string, codeClass: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(`portico_http_requests_total{route="${route}",backend="${backend}",code_class="${codeClass}"}`),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP/2 frames as the proxy sends them

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}
const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const END_STREAM = 0x1;

/** A relay between an HTTP/2 client and the proxy that records every frame going to the client. */
async function startTap(): Promise<{ port: number; frames: Frame[]; close(): Promise<void> }> {
  const frames: Frame[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    const upstream = connectNet(proxy.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        frames.push({
          type: pending[3]!,
          flags: pending[4]!,
          stream: pending.readUInt32BE(5) & 0x7fffffff,
          payload: pending.subarray(9, 9 + length),
        });
        pending = pending.subarray(9 + length);
      }
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    for (const s of [client, upstream]) s.on('error', () => {});
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    frames,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

interface H2Reply {
  informational: IncomingHttpHeaders[];
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders | undefined;
  body: Buffer;
  /** Frames on this request's stream, in order. */
  frames: Frame[];
}

async function h2Request(
  headers: Record<string, string>,
  body?: Buffer,
  opts: { endAfterBody?: boolean } = {},
): Promise<H2Reply> {
  const tap = await startTap();
  const session: ClientHttp2Session = connectH2(`http://127.0.0.1:${tap.port}`);
  session.on('error', () => {});
  try {
    const req = session.request({ ':authority': 'gw.test', ...headers }, { endStream: body === undefined });
    const informational: IncomingHttpHeaders[] = [];
    let response: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('headers', (h) => informational.push(h));
    req.on('response', (h) => {
      response = h;
    });
    req.on('trailers', (h) => {
      trailers = h;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    if (body !== undefined) {
      if (opts.endAfterBody === false) req.write(body);
      else req.end(body);
    }
    await new Promise((r) => req.on('close', r));
    const id = req.id!;
    return {
      informational,
      headers: response,
      trailers,
      body: Buffer.concat(chunks),
      frames: tap.frames.filter((f) => f.stream === id),
    };
  } finally {
    session.destroy();
    await tap.close();
  }
}

const GRPC_REQUEST = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };
const EMPTY_GRPC_MESSAGE = Buffer.from([0, 0, 0, 0, 0]);

// ---------------------------------------------------------------------------------------------------------------
// 1. gRPC statuses

test('a trailers-only gRPC answer leaves as one HEADERS frame with END_STREAM and its status', async () => {
  const reply = await h2Request({ ...GRPC_REQUEST, ':path': '/grpc/NotFound' }, EMPTY_GRPC_MESSAGE);
  assert.equal(reply.headers[':status'], 200);
  assert.equal(reply.headers['grpc-status'], '5');
  assert.equal(reply.headers['grpc-message'], 'no such thing');
  assert.deepEqual(
    reply.frames.map((f) => [f.type, f.flags & END_STREAM]),
    [[HEADERS, END_STREAM]],
    'exactly one HEADERS frame that ends the stream: no DATA frame, no second HEADERS',
  );
});

test('headers then trailers with no body: HEADERS, then trailers with END_STREAM, and no DATA frame', async () => {
  const reply = await h2Request({ ...GRPC_REQUEST, ':path': '/grpc/HeadersThenTrailers' }, EMPTY_GRPC_MESSAGE);
  assert.equal(reply.trailers?.['grpc-status'], '7');
  assert.deepEqual(
    reply.frames.map((f) => [f.type, f.flags & END_STREAM]),
    [
      [HEADERS, 0],
      [HEADERS, END_STREAM],
    ],
  );
});

test('a gRPC answer with a message streams its body and trailers as before', async () => {
  const reply = await h2Request({ ...GRPC_REQUEST, ':path': '/grpc/Ok' }, EMPTY_GRPC_MESSAGE);
  assert.equal(reply.headers[':status'], 200);
  assert.deepEqual([...reply.body], [0, 0, 0, 0, 2, 8, 1]);
  assert.equal(reply.trailers?.['grpc-status'], '0');
  const types = reply.frames.map((f) => f.type);
  assert.equal(types[0], HEADERS);
  assert.ok(types.includes(DATA), 'the message travels in DATA');
  const last = reply.frames.at(-1)!;
  assert.deepEqual([last.type, last.flags & END_STREAM], [HEADERS, END_STREAM], 'the trailers end the stream');
});

// ---------------------------------------------------------------------------------------------------------------
// 2. 1xx

test('HTTP/1.1: 103 Early Hints carries its Link only, other 1xx are dropped, the final answer follows', async () => {
  const reply = parse((await raw(get('/h1/early'))).text);
  assert.equal(reply.status, 200);
  assert.equal(reply.body.endsWith('final'), true, `body: ${reply.body}`);
  assert.deepEqual(
    reply.informational.map((i) => i.status),
    [103],
    'the 102 stays on the upstream hop',
  );
  const hints = reply.informational[0]!.headers;
  assert.equal(hints.get('link'), '</style.css>; rel=preload; as=style');
  assert.equal(hints.has('x-secret'), false, 'only the link field of the hints carries');
});

test('HTTP/1.0: no 1xx at all (RFC 9110 §15.2), the final answer still arrives', async () => {
  const reply = parse((await raw('GET /h1/early HTTP/1.0\r\nHost: gw.test\r\n\r\n')).text);
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.informational, []);
});

test('HTTP/2: 103 Early Hints arrives as an informational HEADERS frame before the answer', async () => {
  const reply = await h2Request({ ':path': '/h1/early' });
  assert.equal(reply.headers[':status'], 200);
  assert.equal(reply.body.toString(), 'final');
  assert.equal(reply.informational.length, 1);
  assert.equal(reply.informational[0]![':status'], 103);
  assert.equal(reply.informational[0]!.link, '</style.css>; rel=preload; as=style');
  assert.equal(reply.informational[0]!['x-secret'], undefined);
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Bodies over the limit

test('HTTP/1.1: a chunked body over the limit gets 413 and the connection is closed', async () => {
  const before4xx = await requestsTotal('h1', 'h1', '4xx');
  const chunk = 'a'.repeat(LIMIT * 2);
  // Keep-alive asked for, and the body never finishes: only the proxy can end this.
  const head = 'POST /h1/upload-chunked HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n';
  const reply = await raw(`${head}${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  assert.equal(reply.closed, true, 'the proxy closes the connection');
  const parsed = parse(reply.text);
  assert.equal(parsed.status, 413);
  assert.equal(parsed.headers.get('connection'), 'close');
  assert.equal(JSON.parse(parsed.body).error.code, 'PORTICO_ERR_PROXY_BODY_TOO_LARGE');
  assert.equal((await accessLine('/h1/upload-chunked')).status, 413);
  assert.equal(await requestsTotal('h1', 'h1', '4xx'), before4xx + 1, 'measured as a 4xx of the route');
  assert.equal(completed.includes('/h1/upload-chunked'), false, 'the backend never got the whole body');
  // Not the endpoint's fault: with one 5xx ejecting, the endpoint still serves.
  assert.equal(parse((await raw(get('/h1/after-413'))).text).status, 200);
});

test('HTTP/1.1: a Content-Length over the limit gets 413 and the connection is closed', async () => {
  const head = `POST /h1/upload-length HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${LIMIT * 4}\r\n\r\n`;
  const reply = await raw(`${head}${'b'.repeat(100)}`);
  assert.equal(reply.closed, true);
  const parsed = parse(reply.text);
  assert.equal(parsed.status, 413);
  assert.equal(parsed.headers.get('connection'), 'close');
});

test('HTTP/2: a body with no length over the limit gets a complete 413, then RST_STREAM(NO_ERROR)', async () => {
  const reply = await h2Request({ ':method': 'POST', ':path': '/h1/upload-h2' }, Buffer.alloc(LIMIT * 2, 'c'), {
    endAfterBody: false,
  });
  assert.equal(reply.headers[':status'], 413);
  assert.equal(JSON.parse(reply.body.toString()).error.code, 'PORTICO_ERR_PROXY_BODY_TOO_LARGE');
  const kinds = reply.frames.map((f) => f.type);
  const ended = reply.frames.findIndex((f) => f.flags & END_STREAM);
  const reset = kinds.indexOf(RST_STREAM);
  assert.ok(ended !== -1 && reset > ended, `END_STREAM first, then the reset: ${JSON.stringify(kinds)}`);
  assert.equal(reply.frames[reset]!.payload.readUInt32BE(0), 0, 'NO_ERROR');
});

// ---------------------------------------------------------------------------------------------------------------
// 4. What error bodies reveal

test('an upstream failure answers with its code and a generic message; the log has the full error', async () => {
  const parsed = parse((await raw(get('/dead/thing'))).text);
  assert.equal(parsed.status, 502);
  for (const secret of [`${deadPort}`, '127.0.0.1', 'ECONNREFUSED', 'cluster', 'at '])
    assert.equal(parsed.body.includes(secret), false, `the body shows "${secret}": ${parsed.body}`);
  assert.deepEqual(JSON.parse(parsed.body), {
    error: {
      code: 'PORTICO_ERR_UPSTREAM_CONNECT',
      message: 'upstream connect failed',
      details: [
        { path: 'route', message: 'dead' },
        { path: 'backend', message: 'dead' },
      ],
    },
  });
  const requestId = parsed.headers.get('x-request-id');
  assert.ok(requestId);
  const line = await waitUntil('the warn line', () => logs.find((l) => l.level === 40 && l.requestId === requestId));
  assert.match(JSON.stringify(line.err), new RegExp(`127\\.0\\.0\\.1:${deadPort}`), 'operators see the endpoint');
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Access log

test('the access log shows query keys only, never their values', async () => {
  await raw(get('/h1/search?access_token=s3cr3t&page=2&flag'));
  const line = await accessLine('/h1/search?access_token&page&flag');
  assert.equal(line.status, 200);
  assert.equal(JSON.stringify(logs).includes('s3cr3t'), false);
});

test('a request timeout after the head is logged as 504; the connection is cut within 5x the timeout', async () => {
  const started = performance.now();
  const reply = await raw(get('/slow/stall'));
  assert.equal(reply.closed, true);
  assert.ok(performance.now() - started < 1500, 'cut after the 300 ms timeout, within a generous margin');
  assert.equal(parse(reply.text).status, 200, 'the head had gone out');
  const line = await accessLine('/slow/stall');
  assert.equal(line.status, 504);
  assert.equal(line.route, 'slow');
});

test('a client that leaves mid-answer is logged as 499', async () => {
  const { socket } = await openUntilHead('GET /h1/leave/stall HTTP/1.1\r\nHost: gw.test\r\n\r\n');
  socket.destroy();
  assert.equal((await accessLine('/h1/leave/stall')).status, 499);
});

// ---------------------------------------------------------------------------------------------------------------
// 6. Unrouted requests in portico_http_requests_total

test('404s and 400s before routing are counted under route="" backend=""', async () => {
  const before = await requestsTotal('', '', '4xx');
  assert.equal(parse((await raw(get('/nowhere'))).text).status, 404);
  // No Host: resolveRoute's 400.
  assert.equal(parse((await raw('GET /h1/x HTTP/1.1\r\nConnection: close\r\n\r\n')).text).status, 400);
  assert.equal(await requestsTotal('', '', '4xx'), before + 2);
  assert.equal((await accessLine('/nowhere')).status, 404);
});

// ---------------------------------------------------------------------------------------------------------------
// 7. The per-client share of a Service (proxy side)

test("a client over its share of a Service gets the upstream's 429 through the same generic error path", async () => {
  const first = await openUntilHead('GET /limited/stall HTTP/1.1\r\nHost: gw.test\r\n\r\n');
  try {
    const parsed = parse((await raw(get('/limited/second'))).text);
    assert.equal(parsed.status, 429);
    const body = JSON.parse(parsed.body);
    assert.equal(body.error.code, 'PORTICO_ERR_UPSTREAM_CLIENT_LIMIT');
    assert.equal(body.error.message, 'too many requests in flight from this client to this service');
    assert.equal(parsed.body.includes('127.0.0.1'), false);
  } finally {
    first.socket.destroy();
  }
});
