/**
 * Hostile HTTP/2 clients against a Service's upstream pool, through a real front proxy, with frames written by hand
 * (raw-h2.ts): a slow reader that never opens its window must not hold the whole pool, and
 * streams reset right after their HEADERS must not cost a backend connection each.
 */
import assert from 'node:assert/strict';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect as connectNet } from 'node:net';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';
import {
  connectRaw,
  ERROR,
  FLAG,
  FRAME,
  type Frame,
  frame,
  headersFrames,
  PREFACE,
  RawH2,
  requestHeaders,
  rstStream,
} from './raw-h2.ts';

/** connectionPool.connections of the pooled Service; its per-client share is half of it (one endpoint). */
const CONNECTIONS = 8;
const SHARE = CONNECTIONS / 2;
/** Far more than the loopback socket buffers hold (4 MiB send + 32 MiB receive at most): never all written. */
const BIG_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const SLOW_MS = 100;

const bus = createMemoryBus();
let proxy: FrontProxy;

/** Backend of the slow-reader case: /big streams a large answer with backpressure, /small answers at once. */
let bigBackend: Server;
let bigOpen = 0;
let bigOpenMax = 0;
/** /big requests the backend saw, by the client address in X-Forwarded-For. */
const bigFrom = new Map<string, number>();

/** Backend of the reset case: answers after SLOW_MS; counts its TCP connections and the requests it saw. */
let slowBackend: Server;
let slowConnections = 0;
let slowOpen = 0;
/** Stream ids (the last path segment) of the requests the slow backend saw, in order. */
const slowSeen: string[] = [];

function resource(input: unknown): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...(input as object) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/** Writes `bytes` of body, each chunk only once the last was taken, until done or the connection goes. */
function streamBody(res: ServerResponse, bytes: number): void {
  let left = bytes;
  const more = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

before(async () => {
  bigBackend = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (url.pathname === '/big') {
      const from = String(req.headers['x-forwarded-for']);
      bigFrom.set(from, (bigFrom.get(from) ?? 0) + 1);
      bigOpen++;
      bigOpenMax = Math.max(bigOpenMax, bigOpen);
      res.on('close', () => bigOpen--);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      streamBody(res, Number(url.searchParams.get('bytes') ?? BIG_BYTES));
      return;
    }
    res.end('small');
  });
  slowBackend = createHttpServer((req, res) => {
    slowSeen.push(req.url!.slice(req.url!.lastIndexOf('/') + 1));
    slowOpen++;
    res.on('close', () => slowOpen--);
    setTimeout(() => res.end('late'), SLOW_MS);
  });
  slowBackend.keepAliveTimeout = 60_000;
  slowBackend.on('connection', () => slowConnections++);
  const bigPort = await listen(bigBackend);
  const slowPort = await listen(slowBackend);
  const docs = [
    {
      kind: 'Service',
      metadata: { name: 'pooled' },
      spec: { endpoints: [{ address: '127.0.0.1', port: bigPort }], connectionPool: { connections: CONNECTIONS } },
    },
    {
      kind: 'Service',
      metadata: { name: 'slow' },
      spec: {
        endpoints: [{ address: '127.0.0.1', port: slowPort }],
        // No per-client share here: every reset stream reaches the pool, so the test measures pooling alone.
        // A long keep-alive (here and on the backend): only a reset may cost a connection, never an idle expiry.
        connectionPool: { connections: CONNECTIONS, maxRequestsPerClient: 0, keepAliveTimeout: '60s' },
      },
    },
    {
      kind: 'Route',
      metadata: { name: 'pooled' },
      spec: {
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/big' } }], backendRefs: [{ name: 'pooled' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/small' } }], backendRefs: [{ name: 'pooled' }] },
        ],
      },
    },
    {
      kind: 'Route',
      metadata: { name: 'slow' },
      spec: {
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/slow' } }], backendRefs: [{ name: 'slow' }] }],
      },
    },
  ];
  for (const doc of docs) await bus.put(resource(doc));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({
      level: 'warn',
      // Refusals and access lines are not what these tests look at.
      destination: { write: () => {} },
    }),
    metrics: new ProxyMetrics(createMetricsRegistry()),
    drainMs: 1_000,
  });
});

after(async () => {
  bigBackend.closeAllConnections();
  slowBackend.closeAllConnections();
  await proxy.close();
  await new Promise((r) => bigBackend.close(r));
  await new Promise((r) => slowBackend.close(r));
  await bus.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface Reply {
  status: number;
  bytes: number;
  ms: number;
}

/** A plain HTTP/1.1 GET, its own connection, from `localAddress`; the body is read and counted. */
function get(path: string, localAddress = '127.0.0.1'): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: proxy.port, path, localAddress, agent: false },
      (res: IncomingMessage) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode!, bytes, ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

function readInt(block: Buffer, at: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  let value = block[at]! & max;
  let pos = at + 1;
  if (value < max) return [value, pos];
  for (let shift = 0; ; shift += 7) {
    const b = block[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
  }
}

/**
 * Huffman-coded digits (RFC 7541 appendix B: '0'-'2' are 5-bit codes 0-2, '3'-'9' 6-bit codes 0x19-0x1f), which
 * is all a :status value holds; the padding is up to 7 one bits.
 */
function huffmanDigits(bytes: Buffer): string {
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  let at = 0;
  while (at < bits.length) {
    const rest = bits.slice(at);
    if (rest.length < 8 && /^1+$/.test(rest)) break;
    const five = Number.parseInt(bits.slice(at, at + 5), 2);
    if (five <= 2) {
      out += String(five);
      at += 5;
      continue;
    }
    const six = Number.parseInt(bits.slice(at, at + 6), 2);
    if (six < 0x19 || six > 0x1f) throw new Error(`not a Huffman-coded digit at bit ${at}`);
    out += String(six - 0x19 + 3);
    at += 6;
  }
  return out;
}

/** HPACK static table entries 8-14 are `:status` with these values (RFC 7541 appendix A). */
const STATIC_STATUS = [200, 204, 206, 304, 400, 404, 500];

/**
 * The :status of a response header block: the first field, as pseudo-fields come first (RFC 9113 §8.3). The
 * client advertised a header table of 0, so no field refers to the dynamic table; the encoder opens with a table
 * size update, skipped here.
 */
function statusOf(block: Buffer): number {
  let at = 0;
  while ((block[at]! & 0xe0) === 0x20) at = readInt(block, at, 5)[1];
  const first = block[at]!;
  if (first & 0x80) {
    const [index] = readInt(block, at, 7);
    const status = STATIC_STATUS[index - 8];
    if (status === undefined) throw new Error(`first field is indexed ${index}, not :status`);
    return status;
  }
  let [nameIndex, pos] = readInt(block, at, first & 0x40 ? 6 : 4);
  if (nameIndex === 0) {
    const [len, from] = readInt(block, pos, 7);
    const name = block.subarray(from, from + len).toString('latin1');
    if (name !== ':status') throw new Error(`first field is ${name}`);
    pos = from + len;
  } else if (nameIndex < 8 || nameIndex > 14) throw new Error(`first field names index ${nameIndex}`);
  const huffman = (block[pos]! & 0x80) !== 0;
  const [len, from] = readInt(block, pos, 7);
  const value = block.subarray(from, from + len);
  return Number(huffman ? huffmanDigits(value) : value.toString('latin1'));
}

/** First response HEADERS per stream -> its :status. */
function statuses(frames: Frame[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of frames) if (f.type === FRAME.HEADERS && !out.has(f.stream)) out.set(f.stream, statusOf(f.payload));
  return out;
}

function settingsPayload(settings: [number, number][]): Buffer {
  const p = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(value, i * 6 + 2);
  });
  return p;
}

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;

/**
 * A client from 127.0.0.2 (another client address than the victims' 127.0.0.1) whose streams get a window of one
 * byte: the proxy can send each answer's head and one byte of its body, no more, as no WINDOW_UPDATE ever comes.
 */
async function slowReader(): Promise<RawH2> {
  const socket = connectNet({ port: proxy.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const h2 = new RawH2(socket);
  const settings = settingsPayload([
    [SETTINGS_INITIAL_WINDOW_SIZE, 1],
    [SETTINGS_HEADER_TABLE_SIZE, 0],
  ]);
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, settings)]));
  const ready = await h2.until(
    () =>
      h2.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0) &&
      h2.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === FLAG.ACK),
    3000,
  );
  assert.ok(ready, 'the proxy sent its SETTINGS and acknowledged ours');
  socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
  return h2;
}

// ---------------------------------------------------------------------------------------------------------------
// Item 10: one slow reader cannot starve a Service

test('a slow reader with a 1-byte window holds only its share of the pool; other clients are served', async () => {
  const STREAMS = 100;
  const attacker = await slowReader();
  try {
    const ids = Array.from({ length: STREAMS }, (_, i) => 2 * i + 1);
    attacker.socket.write(Buffer.concat(ids.map((id) => headersFrames(id, requestHeaders('/big'), true))));
    await attacker.until(() => statuses(attacker.frames).size === STREAMS, 5000);
    const byStatus = new Map<number, number>();
    for (const s of statuses(attacker.frames).values()) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
    assert.deepEqual(
      Object.fromEntries(byStatus),
      { 200: SHARE, 429: STREAMS - SHARE },
      'its share of the streams get their answer (held by the window), every other one a 429',
    );
    // Held, not finished: the backend is still writing those answers into sockets nobody reads.
    await waitUntil('the held answers on the backend', () => bigOpen === SHARE);
    assert.equal(bigFrom.get('127.0.0.2'), SHARE, 'only its share of requests ever reached the backend');

    // Meanwhile a client from another address gets its answers at once, one after the other.
    for (let i = 0; i < 20; i++) {
      const reply = await get(`/small/${i}`);
      assert.equal(reply.status, 200, `victim request ${i}`);
      assert.ok(reply.ms < 3000, `victim request ${i} took ${Math.round(reply.ms)} ms`);
    }
    assert.equal(attacker.closed, false, 'the slow reader was still connected throughout');
    assert.equal(attacker.goawayCode(), undefined);
    assert.equal(bigOpen, SHARE);
    assert.equal(bigOpenMax, SHARE, 'the backend never had more than the share of /big open at once');
  } finally {
    attacker.close();
  }

  // Once it leaves, its held answers are cut and its slots come back: the whole share is usable again.
  await waitUntil('the held answers to end', () => bigOpen === 0);
  const again = await Promise.all(Array.from({ length: SHARE }, () => get(`/big?bytes=${1024 * 1024}`, '127.0.0.2')));
  assert.deepEqual(
    again.map((r) => [r.status, r.bytes]),
    Array.from({ length: SHARE }, () => [200, 1024 * 1024]),
  );
  const victim = await get(`/big?bytes=${1024 * 1024}`);
  assert.deepEqual([victim.status, victim.bytes], [200, 1024 * 1024]);
});

// ---------------------------------------------------------------------------------------------------------------
// Item 11: rapidly reset streams don't cost backend connections

function resetBatch(ids: number[]): Buffer {
  return Buffer.concat(
    ids.flatMap((id) => [headersFrames(id, requestHeaders(`/slow/${id}`), true), rstStream(id, ERROR.CANCEL)]),
  );
}

test('streams reset right after their HEADERS, or once sent upstream, reuse the pooled connections', async (t) => {
  const CLIENTS = 3;
  const PER_CLIENT = 50;
  const BATCH = 10;
  const ROUNDS = 5;
  // Each connection stays far under the reset burst (200): this measures the pool, not the flood guard.
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connectRaw(proxy.port)));
  let next = 1;
  try {
    for (const c of clients) await c.handshake();
    // Rapid reset: HEADERS and RST_STREAM in one write, a batch at a time.
    for (let sent = 0; sent < PER_CLIENT; sent += BATCH) {
      const ids = Array.from({ length: BATCH }, (_, i) => next + 2 * i);
      next += 2 * BATCH;
      for (const c of clients) c.socket.write(resetBatch(ids));
      await new Promise((r) => setTimeout(r, 50));
    }
    const firstRound = next;
    // Reset once the backend has the request: each round fills every pooled connection, then cancels them all.
    // Cancels after the request was sent: HTTP/1.1 can't cancel those but by closing the socket, unless drained.
    const [first] = clients;
    for (let round = 0; round < ROUNDS; round++) {
      const ids = Array.from({ length: CONNECTIONS }, (_, i) => next + 2 * i);
      next += 2 * CONNECTIONS;
      first!.socket.write(Buffer.concat(ids.map((id) => headersFrames(id, requestHeaders(`/slow/${id}`), true))));
      await waitUntil(`round ${round}: every request on the backend`, () =>
        ids.every((id) => slowSeen.includes(String(id))),
      );
      first!.socket.write(Buffer.concat(ids.map((id) => rstStream(id, ERROR.CANCEL))));
      await waitUntil(`round ${round}: the backend's answers to end`, () => slowOpen === 0);
    }
    // A normal request on each connection: it queues behind whatever the resets left, so once all three are
    // answered the pool has seen every reset stream through.
    for (const c of clients) c.socket.write(headersFrames(next, requestHeaders('/slow/after'), true));
    for (const [i, c] of clients.entries()) {
      const answered = await c.until(
        () => c.frames.some((f) => f.stream === next && f.type === FRAME.DATA && f.flags & FLAG.END_STREAM),
        10_000,
      );
      assert.ok(answered, `client ${i}: the request after the resets was answered`);
      assert.equal(statuses(c.frames.filter((f) => f.stream === next)).get(next), 200);
      assert.equal(c.closed, false, `client ${i} was not disconnected`);
      assert.equal(c.goawayCode(), undefined, `client ${i} got no GOAWAY`);
    }
    const reset = CLIENTS * PER_CLIENT + ROUNDS * CONNECTIONS;
    const rapid = slowSeen.filter((id) => Number(id) < firstRound).length;
    const rounds = slowSeen.filter((id) => Number(id) >= firstRound).length;
    t.diagnostic(
      `${reset} reset streams (${CLIENTS * PER_CLIENT} rapid, ${rapid} of them reached the backend; ` +
        `${ROUNDS * CONNECTIONS} after reaching it): ${slowSeen.length} backend requests, ${slowConnections} connections`,
    );
    assert.equal(rounds, ROUNDS * CONNECTIONS, 'each request reset after it was sent reached the backend once');
    assert.ok(
      slowConnections <= CONNECTIONS,
      `${reset} reset streams and ${slowSeen.length} backend requests took ${slowConnections} backend connections`,
    );
  } finally {
    for (const c of clients) c.close();
  }
  const plain = await get('/slow/plain');
  assert.equal(plain.status, 200);
  assert.ok(slowConnections <= CONNECTIONS, `${slowConnections} backend connections after a plain request`);
});
