/**
 * Streaming behaviour over real sockets against an in-process front proxy on a memory bus: SSE, large bodies both
 * ways, WebSocket, and HTTP/2 (h2c by prior knowledge on the plain port, TLS with ALPN and SNI).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { parseDocuments } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import {
  type Backend,
  readArrivals,
  selfSignedCertificate,
  startEchoBackend,
  startWebSocketBackend,
} from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const bus = createMemoryBus();
let echo: Backend, ws: Backend, proxy: FrontProxy;
let proxyUrl: string;
let certPem: string;

before(async () => {
  [echo, ws] = await Promise.all([startEchoBackend('echo'), startWebSocketBackend('ws')]);
  const tls = selfSignedCertificate('secure.example.com');
  certPem = tls.cert;
  const parsed = parseDocuments(
    `apiVersion: portico.dev/v1
kind: Service
metadata: {name: echo}
spec: {endpoints: [{address: 127.0.0.1, port: ${echo.port}}]}
---
apiVersion: portico.dev/v1
kind: Service
metadata: {name: ws}
spec: {endpoints: [{address: 127.0.0.1, port: ${ws.port}}]}
---
apiVersion: portico.dev/v1
kind: Certificate
metadata: {name: secure}
spec:
  hostnames: [secure.example.com]
  certificate: {file: ${tls.certFile}}
  privateKey: {file: ${tls.keyFile}}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: r}
spec:
  rules:
    - matches: [{path: {value: /ws}}]
      backendRefs: [{name: ws}]
    - backendRefs: [{name: echo}]
`,
    'streaming',
  );
  assert.deepEqual(parsed.errors, []);
  for (const resource of parsed.resources) await bus.put(resource);
  proxy = await startFrontProxy({
    bus,
    port: 0,
    tlsPort: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'warn', destination: { write: () => {} } }),
    metrics: new ProxyMetrics(createMetricsRegistry()),
    drainMs: 1_000,
  });
  proxyUrl = `http://127.0.0.1:${proxy.port}`;
});

after(async () => {
  await proxy?.close();
  await Promise.all([echo?.close(), ws?.close()]);
  await bus.close();
});

describe('streaming', () => {
  test('SSE events arrive one by one, not buffered to the end', async () => {
    const res = await fetch(`${proxyUrl}/events?sse=5&every=150`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const { text, arrivals } = await readArrivals(res);
    assert.equal((text.match(/^data: /gm) ?? []).length, 5);
    // The first event must not wait for the last one (5 x 150 ms).
    assert.ok(arrivals[0]! < 500, `first chunk after ${arrivals[0]} ms`);
    assert.ok(arrivals.length >= 3, `only ${arrivals.length} chunks`);
  });

  test('a 32 MiB response streams through', async () => {
    const res = await fetch(`${proxyUrl}/big?bytes=${32 * 1024 * 1024}`);
    let total = 0;
    for await (const chunk of res.body!) total += (chunk as Uint8Array).length;
    assert.equal(total, 32 * 1024 * 1024);
  });

  test('a chunked 8 MiB request body streams to the backend', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${proxyUrl}/upload`, { method: 'POST' }, (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c));
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 'y');
      for (let i = 0; i < 8; i++) req.write(chunk);
      req.end();
    });
    assert.equal(JSON.parse(body).body.length, 8 * 1024 * 1024);
  });

  test('WebSocket upgrade is passed through and messages flow both ways', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`);
    await new Promise((resolve, reject) => {
      client.addEventListener('open', resolve, { once: true });
      client.addEventListener('error', () => reject(new Error('the WebSocket did not open')), { once: true });
    });
    const reply = new Promise<string>((resolve) =>
      client.addEventListener('message', (e) => resolve(String(e.data)), { once: true }),
    );
    client.send('hello');
    assert.equal(await reply, 'ws:hello');
    client.close();
    assert.match(String(ws.requests.at(-1)?.headers['x-forwarded-for']), /127\.0\.0\.1/);
  });
});

describe('HTTP/2', () => {
  function h2get(
    url: string,
    path: string,
    opts: Record<string, unknown> = {},
  ): Promise<{ status: number; body: string; alpn: string | false | undefined }> {
    return new Promise((resolve, reject) => {
      const session = h2connect(url, opts);
      session.on('error', reject);
      const req = session.request({ ':path': path, ':method': 'GET' });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const alpn = session.alpnProtocol;
        session.close();
        resolve({ status, body, alpn });
      });
      req.on('error', reject);
    });
  }

  test('h2c with prior knowledge on the plain port', async () => {
    const r = await h2get(proxyUrl, '/h2c');
    assert.equal(r.status, 200);
    const reply = JSON.parse(r.body);
    assert.equal(reply.path, '/h2c');
    assert.match(String(reply.headers.via), /2 portico/);
  });

  test('TLS with ALPN h2 and the certificate chosen by SNI', async () => {
    assert.ok(proxy.tlsPort, 'tls port bound');
    // servername drives both SNI and the certificate name check.
    const r = await h2get(`https://127.0.0.1:${proxy.tlsPort}`, '/tls', {
      ca: certPem,
      servername: 'secure.example.com',
    });
    assert.equal(r.status, 200);
    assert.equal(r.alpn, 'h2');
    const reply = JSON.parse(r.body);
    assert.equal(reply.headers['x-forwarded-proto'], 'https');
  });
});
