/**
 * Reliability under load: config churn with long-lived connections open, NATS going away and coming back,
 * an upstream killed mid-load. Loads are bounded in count and time and go to 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  type NatsServer,
  startEchoBackend,
  startNatsServer,
  startPortico,
  startWebSocketBackend,
  waitUntil,
} from '@portico/testkit';
import WebSocket from 'ws';
import { type LoadResult, runLoad } from './helpers.ts';

const service = (name: string, ports: number[]) => ({
  apiVersion: 'portico.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec: {
    endpoints: ports.map((port) => ({ address: '127.0.0.1', port })),
    outlierDetection: {
      consecutive5xx: 3,
      consecutiveConnectFailures: 1,
      baseEjectionTime: '10s',
      maxEjectionPercent: 50,
    },
  },
});

const route = (n: number) => ({
  apiVersion: 'portico.dev/v1',
  kind: 'Route',
  metadata: { name: 'main' },
  spec: {
    rules: [
      { matches: [{ path: { value: '/ws' } }], backendRefs: [{ name: 'ws' }] },
      {
        filters: [
          {
            type: 'ResponseHeaderModifier',
            responseHeaderModifier: { set: [{ name: 'x-generation', value: String(n) }] },
          },
        ],
        retry: { attempts: 2, backoff: '1ms' },
        backendRefs: [{ name: 'echo' }],
      },
    ],
  },
});

async function put(adminUrl: string, body: { kind: string; metadata: { name: string } }): Promise<void> {
  const res = await fetch(`${adminUrl}/api/v1/${body.kind.toLowerCase()}s/${body.metadata.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT failed: ${res.status} ${await res.text()}`);
}

function openWebSocket(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function echoOnce(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('websocket did not answer')), 3000);
    ws.once('message', (d) => {
      clearTimeout(timer);
      resolve(d.toString());
    });
    ws.send(text);
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function yamlOf(...docs: object[]): Promise<string> {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

describe('reliability', () => {
  test('100 config changes under load with an SSE stream and a WebSocket open: zero failures, both alive', async () => {
    const [echo, ws] = await Promise.all([startEchoBackend('echo'), startWebSocketBackend('ws')]);
    const portico = await startPortico({
      args: ['--log-level', 'warn'],
      config: await yamlOf(service('echo', [echo.port]), service('ws', [ws.port]), route(0)),
    });
    cleanups.push(
      () => portico.stop(),
      () => echo.close(),
      () => ws.close(),
    );

    const socket = await openWebSocket(portico.proxyPort);
    const sse = await fetch(`${portico.proxyUrl}/events?sse=100000&every=20`);
    const reader = sse.body!.getReader();
    let sseEvents = 0;
    const sseDone = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        sseEvents += (
          Buffer.from(value)
            .toString()
            .match(/^data: /gm) ?? []
        ).length;
      }
    })();

    const load = runLoad(`${portico.proxyUrl}/load`);
    for (let n = 1; n <= 100; n++) await put(portico.adminUrl, route(n));
    let result: LoadResult;
    try {
      await waitUntil(
        'the last generation live',
        async () => (await fetch(`${portico.proxyUrl}/gen`)).headers.get('x-generation') === '100',
      );
    } finally {
      result = await load.stop();
    }
    assert.deepEqual(result.failed, []);
    assert.ok(result.ok > 100, `only ${result.ok} requests completed`);

    const eventsBefore = sseEvents;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(sseEvents > eventsBefore, 'SSE stream still delivering after 100 changes');
    assert.equal(await echoOnce(socket, 'still-there'), 'ws:still-there');
    socket.close();
    await reader.cancel();
    await sseDone.catch(() => {});
  });

  test('NATS stopped and restarted under load: traffic keeps flowing, a change made meanwhile is picked up', async () => {
    let nats: NatsServer;
    try {
      nats = await startNatsServer();
    } catch (err) {
      assert.fail(`nats-server is required for this test (apt-get install nats-server): ${(err as Error).message}`);
    }
    const echo = await startEchoBackend('echo');
    const portico = await startPortico({
      args: ['--log-level', 'warn', '--nats', nats.url],
      config: await yamlOf(service('echo', [echo.port]), service('ws', [echo.port]), route(0)),
    });
    cleanups.push(
      () => portico.stop(),
      () => echo.close(),
      () => nats.stop(),
    );

    const load = runLoad(`${portico.proxyUrl}/load`);
    await new Promise((r) => setTimeout(r, 300));
    await nats.stop();
    await new Promise((r) => setTimeout(r, 1000));
    const during = load.result.ok;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(load.result.ok > during, 'requests kept completing while NATS was down');
    // Writes fail cleanly while NATS is away.
    const refused = await fetch(`${portico.adminUrl}/api/v1/routes/main`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(route(7)),
    });
    assert.equal(refused.status, 503);
    await nats.restart();
    // A change written once NATS is back reaches the proxy (writes are refused until the bus reconnects).
    let result: LoadResult;
    try {
      await waitUntil(
        'a change written after the restart to reach the proxy',
        async () => {
          try {
            await put(portico.adminUrl, route(42));
          } catch {}
          return (await fetch(`${portico.proxyUrl}/gen`)).headers.get('x-generation') === '42';
        },
        { timeoutMs: 15_000, everyMs: 100 },
      );
    } finally {
      result = await load.stop();
    }
    assert.deepEqual(result.failed, []);
  });

  test('an upstream killed under load: retries and ejection, no failed request, no hang', async () => {
    const [a, b] = await Promise.all([startEchoBackend('a'), startEchoBackend('b')]);
    const portico = await startPortico({
      args: ['--log-level', 'warn'],
      config: await yamlOf(service('echo', [a.port, b.port]), service('ws', [a.port]), route(0)),
    });
    cleanups.push(
      () => portico.stop(),
      () => b.close(),
    );

    const load = runLoad(`${portico.proxyUrl}/load`);
    await new Promise((r) => setTimeout(r, 300));
    await a.close();
    const killedAt = load.result.ok;
    await new Promise((r) => setTimeout(r, 1000));
    const result = await load.stop();
    assert.ok(result.ok > killedAt + 20, 'traffic kept flowing to the surviving endpoint');
    assert.deepEqual(result.failed, []);
    const metrics = await (await fetch(`${portico.adminUrl}/metrics`)).text();
    assert.match(metrics, /portico_upstream_ejections_total\{[^}]*backend="echo"[^}]*\} [1-9]/);
  });
});
