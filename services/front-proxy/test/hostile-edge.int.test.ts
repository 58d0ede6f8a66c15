/**
 * Hostile clients at the listeners, over raw sockets only (exact bytes for HTTP/1.1, hand-made frames for HTTP/2,
 * node:tls with chosen cipher suites): slow and silent clients are cut by short timeouts configured here, HTTP/2
 * limits are advertised and enforced, TLS refuses suites without forward secrecy, and every refusal logs a warn
 * line and counts in portico_edge_rejections_total.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type Backend, selfSignedCertificate, startEchoBackend, waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';
import {
  connectRaw,
  connectRawTls,
  ERROR,
  FLAG,
  FRAME,
  frame,
  headerBlock,
  headersFrames,
  requestHeaders,
  rstStream,
  SETTING,
} from './raw-h2.ts';

const T = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 1_200,
  keepAliveTimeoutMs: 300,
  idleTimeoutMs: 800,
  http2SessionIdleTimeoutMs: 600,
  http2StreamIdleTimeoutMs: 500,
  http2MaxConcurrentStreams: 8,
  http2StreamResetBurst: 40,
  http2StreamResetRate: 5,
};
/** Generous: the machine is busy; a cut must come within this many times its timeout. */
const SLACK = 5;

const bus = createMemoryBus();
const metrics = new ProxyMetrics(createMetricsRegistry());
const lines: Record<string, unknown>[] = [];
let proxy: FrontProxy;
let backend: Backend;

function resource(input: unknown): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...(input as object) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

async function rejections(reason: string): Promise<number> {
  const m = await metrics.edgeRejections.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function warned(reason: string): boolean {
  return lines.some((l) => l.level === 40 && l.event === 'edge-rejection' && l.reason === reason);
}

/** Counter and warn line for a reason both moved since `before` (waitUntil fails the test if either never does). */
async function assertRejected(reason: string, before: number): Promise<void> {
  await waitUntil(`${reason} counted`, async () => (await rejections(reason)) > before);
  await waitUntil(`a warn line for ${reason}`, () => warned(reason));
}

interface RawHttp {
  socket: Socket;
  data(): string;
  closed: Promise<number>;
}

function rawHttp(port: number): Promise<RawHttp> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      resolve({ socket, data: () => Buffer.concat(chunks).toString('latin1'), closed });
    });
    const opened = performance.now();
    const closed = new Promise<number>((r) => socket.on('close', () => r(performance.now() - opened)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

/** Resolves with the ms until close, or rejects after limit ms. */
function closedWithin(conn: { closed: Promise<number> }, limit: number, what: string): Promise<number> {
  return Promise.race([
    conn.closed,
    new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: still open after ${limit} ms`)), limit).unref(),
    ),
  ]);
}

before(async () => {
  backend = await startEchoBackend('edge');
  const tls = selfSignedCertificate('edge.test');
  for (const doc of [
    {
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { endpoints: [{ address: '127.0.0.1', port: backend.port }] },
    },
    { kind: 'Route', metadata: { name: 'all' }, spec: { rules: [{ backendRefs: [{ name: 'echo' }] }] } },
    // No hostnames: the default certificate, for clients with or without SNI.
    {
      kind: 'Certificate',
      metadata: { name: 'edge' },
      spec: { certificate: { pem: tls.cert }, privateKey: { pem: tls.key } },
    },
  ])
    await bus.put(resource(doc));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    tlsPort: 0,
    host: '127.0.0.1',
    logger: createLogger({
      level: 'warn',
      destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    }),
    metrics,
    accessLog: false,
    // Every rejection logs here; the once-per-window limit has its own test (edge-rejections.test.ts).
    edgeLogIntervalMs: 0,
    ...T,
  });
});

after(async () => {
  await proxy.close();
  await backend.close();
  await bus.close();
});

// The three suites run side by side (each suite's tests in order) to keep the file fast.
describe('the edge', { concurrency: true }, () => {
  describe('HTTP/1.1 and the plain port', { concurrency: 1 }, () => {
    test('a connection that sends nothing is closed by the headers timeout, with a warn line', async () => {
      const before = await rejections('headers_timeout');
      const conn = await rawHttp(proxy.port);
      const ms = await closedWithin(conn, T.headersTimeoutMs * SLACK, 'silent connection');
      assert.ok(ms >= T.headersTimeoutMs - 20, `not before the timeout (${ms} ms)`);
      assert.equal(conn.data(), '', 'nothing to answer: no request began');
      await assertRejected('headers_timeout', before);
    });

    test('a half-sent head gets 408 and a closed connection after the headers timeout', async () => {
      const before = await rejections('headers_timeout');
      const conn = await rawHttp(proxy.port);
      conn.socket.write('GET /slow HTTP/1.1\r\nHost: edge.test\r\nX-Half: ');
      await closedWithin(conn, T.headersTimeoutMs * SLACK, 'half-sent head');
      assert.match(conn.data(), /^HTTP\/1\.1 408 /);
      assert.match(conn.data(), /PORTICO_ERR_PROXY_CLIENT_TIMEOUT/);
      assert.match(conn.data(), /connection: close/i);
      await assertRejected('headers_timeout', before);
      assert.equal(backend.requests.filter((r) => r.url === '/slow').length, 0, 'the backend never saw the request');
    });

    test('a head sent one byte at a time, never idle, is still cut by the headers timeout', async () => {
      const conn = await rawHttp(proxy.port);
      const head = `GET /trickle HTTP/1.1\r\nHost: edge.test\r\nX-Long: ${'a'.repeat(200)}\r\n\r\n`;
      let i = 0;
      // Every 50 ms: far inside the idle timeout, so only the headers deadline can end it.
      const timer = setInterval(() => {
        if (i < head.length && !conn.socket.destroyed) conn.socket.write(head[i++]!);
      }, 50);
      try {
        const ms = await closedWithin(conn, T.headersTimeoutMs * SLACK, 'one byte at a time');
        assert.ok(ms < T.idleTimeoutMs * SLACK);
        assert.ok(i < head.length, 'cut before the head was complete');
        assert.match(conn.data(), /^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(timer);
      }
    });

    test('a body sent one byte at a time is cut by the request timeout', async () => {
      const before = await rejections('request_timeout');
      const conn = await rawHttp(proxy.port);
      conn.socket.write('POST /upload HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 1000\r\n\r\n');
      const timer = setInterval(() => {
        if (!conn.socket.destroyed) conn.socket.write('x');
      }, 50);
      try {
        const ms = await closedWithin(conn, T.requestTimeoutMs * SLACK, 'slow body');
        assert.ok(ms >= T.requestTimeoutMs - 20, `not before the request timeout (${ms} ms)`);
        assert.match(conn.data(), /^HTTP\/1\.1 408 /);
        await assertRejected('request_timeout', before);
      } finally {
        clearInterval(timer);
      }
    });

    test('a client that stops in the middle of its body is closed by the idle timeout', async () => {
      const before = await rejections('idle_timeout');
      const conn = await rawHttp(proxy.port);
      conn.socket.write('POST /stalled HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 10\r\n\r\nabc');
      const ms = await closedWithin(conn, T.idleTimeoutMs * SLACK, 'stalled body');
      assert.ok(ms >= T.idleTimeoutMs - 20, `not before the idle timeout (${ms} ms)`);
      await assertRejected('idle_timeout', before);
    });

    test('an idle keep-alive connection is closed quietly after the keep-alive timeout', async () => {
      const idleBefore = await rejections('idle_timeout');
      const conn = await rawHttp(proxy.port);
      conn.socket.write('GET /ka HTTP/1.1\r\nHost: edge.test\r\n\r\n');
      const ms = await closedWithin(conn, (T.keepAliveTimeoutMs + 1000) * SLACK, 'idle keep-alive');
      assert.match(conn.data(), /^HTTP\/1\.1 200 /);
      assert.ok(ms >= T.keepAliveTimeoutMs, `${ms} ms`);
      assert.equal(await rejections('idle_timeout'), idleBefore, 'an expired keep-alive is no attack');
    });

    test('parser rejections answer 400 and 431, log at warn and count, also in portico_http_requests_total', async () => {
      const badBefore = await rejections('bad_request');
      const bigBefore = await rejections('headers_too_large');
      const requests4xx = async () =>
        (await metrics.requests.get()).values.find(
          (v) => v.labels.route === '' && v.labels.backend === '' && v.labels.code_class === '4xx',
        )?.value ?? 0;
      const countedBefore = await requests4xx();

      const bad = await rawHttp(proxy.port);
      bad.socket.write('GET / HTTP/1.1\r\nHost: edge.test\r\nBad Header\r\n\r\n');
      await closedWithin(bad, 3000, 'bad request');
      assert.match(bad.data(), /^HTTP\/1\.1 400 /);
      assert.match(bad.data(), /PORTICO_ERR_PROXY_BAD_REQUEST/);

      const big = await rawHttp(proxy.port);
      big.socket.write(`GET / HTTP/1.1\r\nHost: edge.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      await closedWithin(big, 3000, 'large head');
      assert.match(big.data(), /^HTTP\/1\.1 431 /);

      await assertRejected('bad_request', badBefore);
      await assertRejected('headers_too_large', bigBefore);
      const line = lines.find((l) => l.reason === 'bad_request')!;
      assert.equal(typeof line.client, 'string', 'the line names the client address');
      assert.ok(!JSON.stringify(line).includes('Bad Header'), 'the client bytes are not logged');
      assert.ok((await requests4xx()) >= countedBefore + 2, 'counted as requests under route=""');
    });
  });

  describe('HTTP/2', { concurrency: 1 }, () => {
    test('SETTINGS advertise the stream limit and the header list size', async () => {
      const c = await connectRaw(proxy.port);
      try {
        const settings = await c.handshake();
        assert.equal(settings.get(SETTING.MAX_CONCURRENT_STREAMS), T.http2MaxConcurrentStreams);
        assert.equal(settings.get(SETTING.MAX_HEADER_LIST_SIZE), 16 * 1024);
      } finally {
        c.close();
      }
    });

    test('a stream over the concurrent stream limit is refused', async () => {
      const before = await rejections('h2_session_error');
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        // Each stream keeps its body open, so the backend waits and the stream stays open.
        const open: Buffer[] = [];
        for (let i = 0; i < T.http2MaxConcurrentStreams; i++)
          open.push(headersFrames(1 + 2 * i, requestHeaders('/held'), false));
        c.socket.write(Buffer.concat(open));
        const over = 1 + 2 * T.http2MaxConcurrentStreams;
        c.socket.write(headersFrames(over, requestHeaders('/over'), true));
        const refused = () => {
          const rst = c.frames.find((f) => f.type === FRAME.RST_STREAM && f.stream === over);
          if (rst !== undefined) return rst.payload.readUInt32BE(0) === ERROR.REFUSED_STREAM;
          return c.goawayCode() === ERROR.PROTOCOL_ERROR;
        };
        assert.ok(await c.until(refused, 3000), 'RST_STREAM REFUSED_STREAM or GOAWAY PROTOCOL_ERROR');
        assert.equal(c.find(FRAME.HEADERS, over), undefined, 'the stream over the limit got no answer');
        if (c.goawayCode() !== undefined) await assertRejected('h2_session_error', before);
      } finally {
        c.close();
      }
    });

    test('a 40 KB header block is refused, and the connection still serves a normal request', async () => {
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        const big = requestHeaders('/big', [['x-big', 'a'.repeat(40_000)]]);
        c.socket.write(headersFrames(1, big, true));
        c.socket.write(headersFrames(3, requestHeaders('/small'), true));
        assert.ok(
          await c.until(
            () => c.find(FRAME.RST_STREAM, 1) !== undefined || c.find(FRAME.HEADERS, 1) !== undefined,
            3000,
          ),
        );
        const rst = c.find(FRAME.RST_STREAM, 1);
        if (rst !== undefined) assert.equal(rst.payload.readUInt32BE(0), ERROR.ENHANCE_YOUR_CALM);
        else {
          // A 431 answer would do too: ':status' 431 as a literal field.
          assert.ok(c.find(FRAME.HEADERS, 1)!.payload.includes(Buffer.from('431')), 'stream 1 answered 431');
        }
        assert.ok(await c.until(() => c.find(FRAME.HEADERS, 3) !== undefined, 3000), 'stream 3 answered');
        assert.equal(
          backend.requests.filter((r) => r.url === '/big').length,
          0,
          'the oversized request never reached the backend',
        );
      } finally {
        c.close();
      }
    });

    test('a CONTINUATION flood (a header block that never ends) is cut off, and never reaches a backend', async () => {
      const seen = backend.requests.length;
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        // HEADERS without END_HEADERS, then 16 KiB CONTINUATION frames that never say END_HEADERS either.
        c.socket.write(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, requestHeaders('/flood')));
        const filler = headerBlock([['x-flood', 'a'.repeat(16_000)]]);
        let sent = 0;
        for (; sent < 400 && !c.closed && c.goawayCode() === undefined; sent++) {
          if (!c.socket.write(frame(FRAME.CONTINUATION, 0, 1, filler))) await once(c.socket, 'drain');
          if (sent % 20 === 19) await new Promise((r) => setTimeout(r, 5));
        }
        assert.ok(
          await c.until(() => c.closed || c.goawayCode() !== undefined, 3000),
          `the connection was still open after ${sent} CONTINUATION frames`,
        );
        assert.ok(sent < 400, `cut after ${sent} of 400 frames (${sent * 16} KB)`);
        assert.equal(backend.requests.length, seen, 'nothing reached the backend');
      } finally {
        c.close();
      }
      // The listener is unharmed.
      const d = await connectRaw(proxy.port);
      try {
        await d.handshake();
        d.socket.write(headersFrames(1, requestHeaders('/after-flood'), true));
        assert.ok(await d.until(() => d.find(FRAME.HEADERS, 1) !== undefined, 3000), 'a new connection is served');
      } finally {
        d.close();
      }
    });

    test('rapid reset: many streams opened and cancelled end in GOAWAY, logged and counted', async () => {
      const before = await rejections('h2_session_error');
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        const block = requestHeaders('/reset');
        let stream = 1;
        // Past the burst, in small batches, as fast as the socket takes them.
        for (let batch = 0; batch < 20 && !c.closed && c.goawayCode() === undefined; batch++) {
          const frames: Buffer[] = [];
          for (let i = 0; i < 10; i++, stream += 2)
            frames.push(headersFrames(stream, block, true), rstStream(stream, ERROR.CANCEL));
          c.socket.write(Buffer.concat(frames));
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(await c.until(() => c.goawayCode() !== undefined, 3000), 'GOAWAY');
        assert.ok((stream - 1) / 2 <= T.http2StreamResetBurst + 100, `cut after ${(stream - 1) / 2} streams`);
        await assertRejected('h2_session_error', before);
        assert.ok(
          lines.some((l) => l.reason === 'h2_session_error' && l.likely === 'reset_rate'),
          'the line says resets were the likely cause',
        );
      } finally {
        c.close();
      }
    });

    test('an HTTP/2 connection with no stream is closed by the session idle timeout', async () => {
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        const started = performance.now();
        assert.ok(await c.until(() => c.closed, T.http2SessionIdleTimeoutMs * SLACK), 'closed');
        assert.equal(c.goawayCode(), ERROR.NO_ERROR, 'a polite GOAWAY first');
        assert.ok(c.closedAt - started >= T.http2SessionIdleTimeoutMs - 50, `${c.closedAt - started} ms`);
      } finally {
        c.close();
      }
    });

    test('a stream that moves no byte is reset by the stream idle timeout (over TLS too)', async () => {
      for (const open of [() => connectRaw(proxy.port), () => connectRawTls(proxy.tlsPort!)]) {
        const before = await rejections('h2_stream_idle');
        const c = await open();
        try {
          await c.handshake();
          const started = performance.now();
          // A request whose body never comes: the backend waits, nothing moves.
          c.socket.write(headersFrames(1, requestHeaders('/idle-stream'), false));
          assert.ok(await c.until(() => c.find(FRAME.RST_STREAM, 1) !== undefined, T.http2StreamIdleTimeoutMs * SLACK));
          assert.equal(c.find(FRAME.RST_STREAM, 1)!.payload.readUInt32BE(0), ERROR.CANCEL);
          assert.ok(performance.now() - started >= T.http2StreamIdleTimeoutMs - 50);
          await assertRejected('h2_stream_idle', before);
        } finally {
          c.close();
        }
      }
    });

    test('a normal request still works over h2c (the limits do not get in the way)', async () => {
      const c = await connectRaw(proxy.port);
      try {
        await c.handshake();
        c.socket.write(
          headersFrames(
            1,
            headerBlock([
              [':method', 'GET'],
              [':scheme', 'http'],
              [':authority', 'edge.test'],
              [':path', '/ok'],
            ]),
            true,
          ),
        );
        assert.ok(
          await c.until(
            () => c.frames.some((f) => f.type === FRAME.DATA && f.stream === 1 && (f.flags & 1) === 1),
            3000,
          ),
        );
        assert.ok(c.find(FRAME.HEADERS, 1)!.payload.length > 0);
        c.socket.write(frame(FRAME.PING, 0, 0, Buffer.alloc(8)));
      } finally {
        c.close();
      }
    });
  });

  describe('TLS', { concurrency: 1 }, () => {
    function handshake(options: {
      ciphers?: string;
      minVersion?: 'TLSv1' | 'TLSv1.2';
      maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    }) {
      return new Promise<TLSSocket>((resolve, reject) => {
        const s = tlsConnect(
          {
            port: proxy.tlsPort!,
            host: '127.0.0.1',
            rejectUnauthorized: false,
            ALPNProtocols: ['http/1.1'],
            ...options,
          },
          () => resolve(s),
        );
        s.once('error', reject);
      });
    }

    for (const suite of [
      'AES128-SHA',
      'AES256-GCM-SHA384',
      'AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-RSA-AES256-SHA384',
    ]) {
      test(`${suite} (RSA key exchange or CBC) is refused`, async () => {
        const before = await rejections('tls_handshake');
        await assert.rejects(handshake({ ciphers: suite, maxVersion: 'TLSv1.2' }));
        // Counted by the server: the client did offer the suite and the server said no.
        await assertRejected('tls_handshake', before);
      });
    }

    test('TLS 1.1 is refused', async () => {
      const before = await rejections('tls_handshake');
      await assert.rejects(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'ALL:@SECLEVEL=0' }));
      await assertRejected('tls_handshake', before);
    });

    for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
      test(`${suite} over TLS 1.2 is accepted`, async () => {
        const s = await handshake({ ciphers: suite, maxVersion: 'TLSv1.2' });
        try {
          assert.equal(s.getCipher().standardName.includes('ECDHE'), true);
          assert.equal(s.getProtocol(), 'TLSv1.2');
        } finally {
          s.destroy();
        }
      });
    }

    test('TLS 1.3 is accepted', async () => {
      const s = await handshake({});
      try {
        assert.equal(s.getProtocol(), 'TLSv1.3');
      } finally {
        s.destroy();
      }
    });

    test('a TCP connection that never starts its handshake is closed by the headers timeout', async () => {
      const before = await rejections('tls_handshake_timeout');
      const conn = await rawHttp(proxy.tlsPort!);
      await closedWithin(conn, T.headersTimeoutMs * SLACK, 'silent TLS connection');
      await assertRejected('tls_handshake_timeout', before);
    });

    test('HTTP/1.1 over TLS: a malformed head gets the JSON 400 and a warn line', async () => {
      const before = await rejections('bad_request');
      const s = await handshake({});
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      const closed = new Promise((r) => s.on('close', r));
      s.write('GET / HTTP/1.1\r\nHost: edge.test\r\nBad Header\r\n\r\n');
      await closed;
      const text = Buffer.concat(chunks).toString();
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /PORTICO_ERR_PROXY_BAD_REQUEST/);
      await assertRejected('bad_request', before);
    });
  });
});
