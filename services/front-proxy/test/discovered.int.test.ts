/**
 * Routing to discovered services: EndpointSets (as the syncer writes them) in the bus, real backends, real
 * sockets through the proxy. Weights are honoured, unhealthy/disabled and `dubbo` endpoints are never routed,
 * stale endpoints keep serving, and endpoint changes don't drop a kept-alive client connection.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type DiscoveredEndpoint, endpointSetName, type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type Backend, startEchoBackend, waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const bus = createMemoryBus();
const metrics = new ProxyMetrics(createMetricsRegistry());
let proxy: FrontProxy;
let backends: Backend[];

function resource(input: unknown): Resource {
  const r = validateResource(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

function ep(b: Backend, extra: Partial<DiscoveredEndpoint> = {}): DiscoveredEndpoint {
  return { address: '127.0.0.1', port: b.port, weight: 100, healthy: true, protocol: 'http', metadata: {}, ...extra };
}

async function publish(registry: string, service: string, endpoints: DiscoveredEndpoint[], stale = false) {
  const before = proxy.revision();
  const { changed } = await bus.put(
    resource({
      apiVersion: 'portico.dev/v1',
      kind: 'EndpointSet',
      metadata: { name: endpointSetName(registry, service) },
      spec: { registry, service, stale, revision: String(Date.now()), endpoints },
    }),
  );
  // The proxy applies a change on a later tick, and every applied change moves its revision.
  if (changed) await waitUntil(`the proxy to apply ${service} from ${registry}`, () => proxy.revision() > before);
}

async function hits(path: string, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${proxy.port}${path}`);
    const name = res.status === 200 ? ((await res.json()) as { backend: string }).backend : `status-${res.status}`;
    if (res.status !== 200) await res.arrayBuffer();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

before(async () => {
  backends = await Promise.all(['a', 'b', 'c'].map((n) => startEchoBackend(n)));
  for (const doc of [
    { kind: 'Registry', metadata: { name: 'zk' }, spec: { type: 'zookeeper', addresses: ['127.0.0.1:2181'] } },
    { kind: 'Registry', metadata: { name: 'nacos' }, spec: { type: 'nacos', addresses: ['127.0.0.1:8848'] } },
    {
      kind: 'Route',
      metadata: { name: 'orders' },
      spec: {
        rules: [{ matches: [{ path: { value: '/orders' } }], backendRefs: [{ registry: 'zk', name: 'orders' }] }],
      },
    },
    {
      kind: 'Route',
      metadata: { name: 'demo' },
      spec: {
        rules: [
          {
            matches: [{ path: { value: '/com.example.DemoService' } }],
            backendRefs: [{ registry: 'zk', name: 'com.example.DemoService', version: '1.0.0', group: 'g1' }],
          },
        ],
      },
    },
    {
      kind: 'Service',
      metadata: { name: 'users' },
      spec: { discovery: { registry: 'nacos', name: 'users' }, loadBalancer: { type: 'LeastRequest' } },
    },
    {
      kind: 'Route',
      metadata: { name: 'users' },
      spec: { rules: [{ matches: [{ path: { value: '/users' } }], backendRefs: [{ name: 'users' }] }] },
    },
    {
      kind: 'Route',
      metadata: { name: 'ghost' },
      spec: { rules: [{ matches: [{ path: { value: '/ghost' } }], backendRefs: [{ registry: 'nope', name: 'x' }] }] },
    },
  ])
    await bus.put(resource({ apiVersion: 'portico.dev/v1', ...doc }));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
    metrics,
    accessLog: false,
  });
});

after(async () => {
  await proxy.close();
  await Promise.all(backends.map((b) => b.close()));
  await bus.close();
});

test('weights are honoured and unhealthy or zero-weight endpoints get nothing', async () => {
  const [a, b, c] = backends as [Backend, Backend, Backend];
  await publish('zk', 'orders', [ep(a, { weight: 300 }), ep(b, { weight: 100 }), ep(c, { healthy: false })]);
  const counts = await hits('/orders', 200);
  assert.equal(counts.get('c'), undefined, 'the unhealthy endpoint is never routed');
  const ratio = (counts.get('a') ?? 0) / (counts.get('b') ?? 1);
  assert.ok(ratio > 2 && ratio < 4.5, `a:b should be about 3:1, got ${JSON.stringify([...counts])}`);
  await publish('zk', 'orders', [ep(a, { weight: 0 }), ep(b), ep(c)]);
  const after = await hits('/orders', 40);
  assert.equal(after.get('a'), undefined, 'weight 0 takes no traffic');
  assert.equal((after.get('b') ?? 0) + (after.get('c') ?? 0), 40);
});

test('a Dubbo interface named with version and group routes to its tri endpoints, never to dubbo ones', async () => {
  const [a, b] = backends as [Backend, Backend];
  await publish('zk', 'providers:com.example.DemoService:1.0.0:g1', [
    ep(a, { protocol: 'tri' }),
    ep(b, { protocol: 'dubbo' }),
  ]);
  const counts = await hits('/com.example.DemoService/sayHello', 20);
  assert.deepEqual([...counts], [['a', 20]]);
});

test('stale endpoints keep serving; an emptied set answers 503 with a JSON body', async () => {
  const [a] = backends as [Backend];
  await publish('zk', 'orders', [ep(a)], true);
  assert.deepEqual([...(await hits('/orders', 5))], [['a', 5]]);
  await publish('zk', 'orders', []);
  const res = await fetch(`http://127.0.0.1:${proxy.port}/orders`);
  assert.equal(res.status, 503);
  const body = (await res.json()) as { error: { code: string } };
  assert.match(body.error.code, /^PORTICO_ERR_/);
});

test('a Service with discovery takes the endpoints of the discovered service (default group and namespace)', async () => {
  const [, b] = backends as [Backend, Backend];
  await publish('nacos', 'users.DEFAULT_GROUP.public', [ep(b)]);
  assert.deepEqual([...(await hits('/users', 5))], [['b', 5]]);
});

test('a backendRef to a Registry that does not exist answers 500 (Gateway API: invalid backend)', async () => {
  const res = await fetch(`http://127.0.0.1:${proxy.port}/ghost`);
  assert.equal(res.status, 500);
  await res.arrayBuffer();
});

test('endpoint changes keep a client connection open and a slow request in flight completes', async () => {
  const [a, b, c] = backends as [Backend, Backend, Backend];
  await publish('zk', 'orders', [ep(a)]);
  const keepAlive = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, path, agent: keepAlive }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket }));
      });
      req.on('error', reject);
      req.end();
    });
  const first = await get('/orders');
  const seen = a.requests.length;
  const slow = get('/orders?delay=300');
  await waitUntil('the slow request on a', () => a.requests.length > seen);
  await publish('zk', 'orders', [ep(b), ep(c)]);
  const slowDone = await slow;
  assert.equal(slowDone.status, 200);
  assert.equal((JSON.parse(slowDone.body) as { backend: string }).backend, 'a', 'in-flight request finished on a');
  const next = await get('/orders');
  assert.equal(next.status, 200);
  assert.notEqual((JSON.parse(next.body) as { backend: string }).backend, 'a');
  assert.equal(next.socket, first.socket, 'the same client connection carried requests across the change');
  keepAlive.destroy();
});

test('/metrics shows per-service endpoint counts and staleness', async () => {
  const [a, b] = backends as [Backend, Backend];
  await publish('zk', 'orders', [ep(a), ep(b, { healthy: false })], true);
  const text = await metrics.registry.metrics();
  assert.match(text, /portico_discovery_endpoints\{registry="zk",service="orders",state="healthy"\} 1/);
  assert.match(text, /portico_discovery_endpoints\{registry="zk",service="orders",state="unhealthy"\} 1/);
  assert.match(text, /portico_discovery_stale\{registry="zk",service="orders"\} 1/);
});
