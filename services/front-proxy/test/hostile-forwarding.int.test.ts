/**
 * Hostile clients against forwarding and upgrades, over raw sockets through an in-process proxy (no client library
 * to tidy the bytes up): a client can't name its own address unless its peer is a trusted proxy, the proxy's own
 * forwarding fields survive the rule's filters, only the rule's Upgrade protocols are tunnelled (never h2c), every
 * handshake is logged and timed out like a request, and the built-in Echo backend answers the forwarded head.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type Backend, startEchoBackend, startWebSocketBackend, waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const bus = createMemoryBus();
let plain: FrontProxy;
let behindLb: FrontProxy;
let web: Backend;
let ws: Backend;
let hang: Server;
const hangSockets = new Set<Socket>();
const lines: Record<string, unknown>[] = [];
const HANDSHAKE_TIMEOUT_MS = 300;

function resource(input: unknown): Resource {
  const r = validateResource(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

function logger() {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return createLogger({ level: 'info', destination });
}

/** The access log line of a request, found by the path it logged. */
function accessLine(path: string): Promise<Record<string, unknown>> {
  return waitUntil(`the access line of ${path}`, () => lines.findLast((l) => l.msg === 'access' && l.path === path));
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.notEqual(end, -1, `incomplete response head: ${JSON.stringify(rest)}`);
    const [statusLine, ...fields] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const f of fields) {
      const colon = f.indexOf(':');
      headers[f.slice(0, colon).toLowerCase()] = f.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    assert.equal(headers['transfer-encoding'], undefined, 'the test parser reads content-length bodies only');
    const body = rest.slice(end + 4, end + 4 + length);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** Writes exact bytes and reads until the proxy closes the connection (every case here ends in a close). */
function exchange(port: number, bytes: string): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after 5 s; got ${Buffer.concat(chunks).toString()}`));
    }, 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponses(Buffer.concat(chunks).toString()));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(bytes);
  });
}

async function one(port: number, bytes: string): Promise<RawResponse> {
  const responses = await exchange(port, bytes);
  assert.equal(responses.length, 1, JSON.stringify(responses));
  return responses[0]!;
}

before(async () => {
  web = await startEchoBackend('web');
  ws = await startWebSocketBackend('ws');
  // Accepts and never answers: a backend that hangs in the handshake.
  hang = createServer((s) => {
    hangSockets.add(s);
    s.on('close', () => hangSockets.delete(s));
    // Reads (and drops) the handshake, so it sees the proxy's FIN when the proxy gives up.
    s.resume();
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const hangPort = (hang.address() as { port: number }).port;
  const service = (name: string, port: number) => ({
    kind: 'Service',
    metadata: { name },
    spec: { endpoints: [{ address: '127.0.0.1', port }] },
  });
  const routeTo = (name: string, path: string, rule: Record<string, unknown>) => ({
    kind: 'Route',
    metadata: { name },
    spec: { rules: [{ matches: [{ path: { value: path } }], ...rule }] },
  });
  for (const doc of [
    service('web', web.port),
    service('ws', ws.port),
    service('hang', hangPort),
    routeTo('web', '/web', { backendRefs: [{ name: 'web' }] }),
    routeTo('ws', '/ws', { backendRefs: [{ name: 'ws' }], timeouts: { request: '5s' } }),
    routeTo('ws-none', '/ws-none', { backendRefs: [{ name: 'ws' }], upgrades: [] }),
    routeTo('hang', '/hang', {
      backendRefs: [{ name: 'hang' }],
      timeouts: { request: `${HANDSHAKE_TIMEOUT_MS}ms` },
    }),
    routeTo('echo', '/echo', {
      filters: [
        {
          type: 'RequestHeaderModifier',
          requestHeaderModifier: {
            set: [{ name: 'X-Set', value: 'by-filter' }],
            add: [{ name: 'X-Added', value: 'two' }],
            remove: ['X-Drop-Me'],
          },
        },
        { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/seen' } } },
      ],
      backendRefs: [{ kind: 'Echo', name: 'echo' }],
    }),
  ])
    await bus.put(resource({ apiVersion: 'portico.dev/v1', ...doc }));
  const common = { bus, port: 0, host: '127.0.0.1', logger: logger() };
  plain = await startFrontProxy({ ...common, metrics: new ProxyMetrics(createMetricsRegistry()) });
  // As if a load balancer at 127.0.0.1 (and more in 10.0.0.0/8) stood in front of this one.
  behindLb = await startFrontProxy({
    ...common,
    metrics: new ProxyMetrics(createMetricsRegistry()),
    trustedProxies: ['127.0.0.1', '10.0.0.0/8'],
  });
});

after(async () => {
  await plain.close();
  await behindLb.close();
  await web.close();
  await ws.close();
  for (const s of hangSockets) s.destroy();
  await new Promise((r) => hang.close(r));
  await bus.close();
});

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: gw.example\r\n${extra}Connection: close\r\n\r\n`;
}

test('an untrusted peer cannot name a client: X-Forwarded-For, Forwarded and X-Real-IP are replaced', async () => {
  const res = await one(
    plain.port,
    get(
      '/web/spoof',
      'X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6;proto=https\r\n' +
        'X-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.example\r\n',
    ),
  );
  assert.equal(res.status, 200);
  const seen = web.requests.at(-1)!.headers;
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-real-ip'], '127.0.0.1');
  assert.equal(seen.forwarded, 'for=127.0.0.1;host=gw.example;proto=http');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'gw.example');
  const line = await accessLine('/web/spoof');
  assert.equal(line.client, '127.0.0.1');
});

test('a trusted peer: the client is the right-most untrusted X-Forwarded-For entry; the chain is kept', async () => {
  const res = await one(
    behindLb.port,
    get('/web/chain', 'X-Forwarded-For: 6.6.6.6, 1.2.3.4\r\nX-Forwarded-For: 10.0.0.9\r\nX-Real-IP: 9.9.9.9\r\n'),
  );
  assert.equal(res.status, 200);
  const seen = web.requests.at(-1)!.headers;
  // 10.0.0.9 and the peer are trusted; 1.2.3.4 is the first hop from the right that we do not trust.
  assert.equal(seen['x-forwarded-for'], '6.6.6.6, 1.2.3.4, 10.0.0.9, 127.0.0.1');
  assert.equal(seen['x-real-ip'], '1.2.3.4');
  assert.equal((await accessLine('/web/chain')).client, '1.2.3.4');
});

test('Via and the forwarding fields survive a RequestHeaderModifier; Echo answers the forwarded head', async () => {
  // Two requests on one connection: Echo reads and drops the body, keep-alive holds.
  const body = 'x'.repeat(100_000);
  const responses = await exchange(
    plain.port,
    `POST /echo/a/b?q=1&q=2&r=3 HTTP/1.1\r\nHost: gw.example\r\nX-Drop-Me: secret\r\nX-Set: client\r\n` +
      `X-Added: one\r\nX-Request-Id: req-42\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      get('/echo', 'X-Forwarded-For: 6.6.6.6\r\n'),
  );
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 200],
  );
  const first = responses[0]!;
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.headers['x-request-id'], 'req-42');
  const seen = JSON.parse(first.body) as {
    method: string;
    path: string;
    query: Record<string, unknown>;
    headers: Record<string, string>;
  };
  assert.equal(seen.method, 'POST');
  assert.equal(seen.path, '/seen/a/b', 'after URLRewrite, as a backend would get it');
  assert.deepEqual(seen.query, { q: ['1', '2'], r: '3' });
  const h = seen.headers;
  assert.equal(h.via, '1.1 portico');
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-real-ip'], '127.0.0.1');
  assert.equal(h.forwarded, 'for=127.0.0.1;host=gw.example;proto=http');
  assert.equal(h.host, 'gw.example');
  assert.equal(h['x-request-id'], 'req-42');
  assert.match(h.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(h['x-set'], 'by-filter');
  assert.equal(h['x-added'], 'one,two');
  assert.equal(h['x-drop-me'], undefined);
  assert.equal(h['content-length'], String(body.length));
  assert.equal(h.connection, undefined, 'hop-by-hop fields stay out');
  const second = JSON.parse(responses[1]!.body) as { path: string; headers: Record<string, string> };
  assert.equal(second.path, '/seen');
  assert.equal(second.headers['x-forwarded-for'], '127.0.0.1');
  const line = await accessLine('/echo');
  assert.equal(line.backend, 'echo');
  assert.equal(line.status, 200);
});

test('a RequestHeaderModifier that touches Via is refused when the config is written', async () => {
  const result = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name: 'strip-via' },
    spec: {
      rules: [
        {
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Via'] } }],
          backendRefs: [{ kind: 'Echo', name: 'echo' }],
        },
      ],
    },
  });
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map((e) => e.path), [
    'spec.rules[0].filters[0].requestHeaderModifier.remove[0]',
  ]);
});

function upgrade(path: string, protocol: string, extra = '', method = 'GET'): string {
  return (
    `${method} ${path} HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n` +
    `Sec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

test('Upgrade: h2c alone is answered as plain HTTP/1.1 and never tunnelled', async () => {
  const res = await one(
    plain.port,
    `GET /web/h2c HTTP/1.1\r\nHost: gw.example\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\n` +
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.upgrade, undefined);
  const seen = web.requests.at(-1)!;
  assert.equal(seen.url, '/web/h2c');
  assert.equal(seen.headers.upgrade, undefined, 'the backend never sees the offer');
  assert.equal(seen.headers['http2-settings'], undefined);
  assert.equal((await accessLine('/web/h2c')).status, 200);
});

test('Upgrade with h2c among others, an unknown token, a route without upgrades, a non-GET WebSocket: 400', async () => {
  const before = web.requests.length;
  const cases: [string, string, string][] = [
    ['/web/unknown', upgrade('/web/unknown', 'smuggle/1.0', KEY), 'smuggle'],
    ['/web/mixed', upgrade('/web/mixed', 'websocket, h2c', KEY), 'h2c'],
    ['/ws-none', upgrade('/ws-none', 'websocket', KEY), 'websocket'],
    ['/ws/post', upgrade('/ws/post', 'websocket', `${KEY}Content-Length: 0\r\n`, 'POST'), 'GET'],
    ['/ws/nokey', upgrade('/ws/nokey', 'websocket'), 'Sec-WebSocket-Key'],
  ];
  for (const [path, bytes, named] of cases) {
    const res = await one(plain.port, bytes);
    assert.equal(res.status, 400, path);
    assert.equal(res.headers.connection, 'close', path);
    const { error } = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.equal(error.code, 'PORTICO_ERR_PROXY_UPGRADE_NOT_ALLOWED', path);
    assert.ok(error.message.includes(named), `${path}: ${error.message}`);
    assert.equal((await accessLine(path)).status, 400, path);
  }
  assert.equal(web.requests.length, before, 'no backend saw any of them');
  assert.equal(ws.requests.filter((r) => r.url === '/ws-none' || r.url.startsWith('/ws/')).length, 0);
});

test('a WebSocket is tunnelled and its handshake logged, query left out of the log', async () => {
  const socket = connect(plain.port, '127.0.0.1');
  let received = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => {
    received = Buffer.concat([received, c]);
  });
  try {
    socket.write(upgrade('/ws/chat?token=secret', 'websocket', KEY));
    await waitUntil('the handshake answer', () => received.includes('\r\n\r\n'));
    const head = received.subarray(0, received.indexOf('\r\n\r\n')).toString();
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    received = received.subarray(received.indexOf('\r\n\r\n') + 4);
    // One masked text frame "hi" (RFC 6455 §5.2); the backend echoes it unmasked as "ws:hi".
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('hi').map((b, i) => b ^ mask[i % 4]!);
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | 2]), mask, payload]));
    await waitUntil('the echoed frame', () => received.length >= 7);
    assert.equal(received[0], 0x81);
    assert.equal(received.subarray(2, 2 + received[1]!).toString(), 'ws:hi');
    const line = await accessLine('/ws/chat');
    assert.equal(line.status, 101);
    assert.equal(line.route, 'ws');
    assert.equal(line.backend, 'ws');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.method, 'GET');
    assert.equal(typeof line.requestId, 'string');
    const seen = ws.requests.at(-1)!.headers;
    assert.equal(seen.via, '1.1 portico');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
  } finally {
    socket.destroy();
  }
});

test('a handshake the backend never answers ends at the rule timeout with a 504, logged', async () => {
  const started = performance.now();
  const res = await one(plain.port, upgrade('/hang', 'websocket', KEY));
  const ms = performance.now() - started;
  assert.equal(res.status, 504);
  assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'PORTICO_ERR_PROXY_TIMEOUT');
  assert.ok(ms >= HANDSHAKE_TIMEOUT_MS - 20, `answered after ${ms} ms, before the timeout`);
  assert.ok(ms < HANDSHAKE_TIMEOUT_MS * 10, `answered after ${ms} ms`);
  const line = await accessLine('/hang');
  assert.equal(line.status, 504);
  assert.equal(line.route, 'hang');
  // The half-open upstream handshake is cancelled too.
  await waitUntil('the upstream connection to close', () => hangSockets.size === 0);
});
