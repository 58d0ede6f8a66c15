/**
 * The `portico` binary streams: SSE events and a WebSocket pass through `portico standalone` as they come.
 * Streaming behaviour in full (large bodies, h2c, TLS with ALPN and SNI) is tested in-process
 * (services/front-proxy/test/behaviour-streaming.int.test.ts); TLS through the binary in grpc-status.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type Backend,
  type PorticoProcess,
  readArrivals,
  startEchoBackend,
  startPortico,
  startWebSocketBackend,
} from '@portico/testkit';
import WebSocket from 'ws';

let echo: Backend, ws: Backend, portico: PorticoProcess;

before(async () => {
  [echo, ws] = await Promise.all([startEchoBackend('echo'), startWebSocketBackend('ws')]);
  portico = await startPortico({
    args: ['--log-level', 'warn'],
    config: `apiVersion: portico.dev/v1
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
kind: Route
metadata: {name: r}
spec:
  rules:
    - matches: [{path: {value: /ws}}]
      backendRefs: [{name: ws}]
    - backendRefs: [{name: echo}]
`,
  });
});

after(async () => {
  await portico?.stop();
  await Promise.all([echo?.close(), ws?.close()]);
});

test('SSE events arrive one by one through the binary, not buffered to the end', async () => {
  const res = await fetch(`${portico.proxyUrl}/events?sse=5&every=150`);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const { text, arrivals } = await readArrivals(res);
  assert.equal((text.match(/^data: /gm) ?? []).length, 5);
  // The first event must not wait for the last one (5 x 150 ms).
  assert.ok(arrivals[0]! < 500, `first chunk after ${arrivals[0]} ms`);
  assert.ok(arrivals.length >= 3, `only ${arrivals.length} chunks`);
});

test('a WebSocket upgrade passes through the binary and messages flow both ways', async () => {
  const client = new WebSocket(`ws://127.0.0.1:${portico.proxyPort}/ws`);
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const reply = new Promise<string>((resolve) => client.once('message', (d) => resolve(d.toString())));
  client.send('hello');
  assert.equal(await reply, 'ws:hello');
  client.close();
  assert.match(String(ws.requests.at(-1)?.headers['x-forwarded-for']), /127\.0\.0\.1/);
});
