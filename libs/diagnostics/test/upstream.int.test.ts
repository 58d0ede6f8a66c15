/**
 * The upstream metrics from real clusters: active health checks against real HTTP servers whose health flips,
 * outlier detection ejecting an endpoint nobody listens on, and panic when every endpoint fails its checks.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { API_VERSION, ServiceSpec } from '@portico/config';
import { waitUntil } from '@portico/testkit';
import { UpstreamCluster } from '@portico/upstream';
import { subscribed } from './helpers.ts';

interface HealthServer {
  port: number;
  healthy: boolean;
}

/** A real server: /healthz answers 204 while `healthy`, 503 otherwise; anything else answers 200. */
async function healthServer(): Promise<HealthServer> {
  const state: HealthServer = { port: 0, healthy: true };
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthz' && !state.healthy ? 503 : req.url === '/healthz' ? 204 : 200;
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  state.port = (server.address() as AddressInfo).port;
  return state;
}

async function deadPort(): Promise<number> {
  const s = http.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

function cluster(name: string, spec: Record<string, unknown>): UpstreamCluster {
  const c = new UpstreamCluster({
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: { name },
    spec: ServiceSpec.parse(spec),
  });
  after(() => c.close());
  return c;
}

const healthCheck = {
  path: '/healthz',
  interval: '20ms',
  timeout: '200ms',
  healthyThreshold: 1,
  unhealthyThreshold: 1,
};
const ep = (port: number) => ({ address: '127.0.0.1', port });

/** A GET through the cluster; resolves with the status or the error code. */
function get(c: UpstreamCluster): Promise<number | string> {
  return new Promise((resolve) => {
    c.dispatch(
      { method: 'GET', path: '/', headers: {}, body: null },
      {
        onResponseStart: (status) => {
          resolve(status);
          return true;
        },
        onResponseData: () => true,
        onResponseEnd: () => {},
        onResponseError: (err) => resolve(err.code),
      },
    );
  });
}

test('portico_upstream_endpoints and portico_upstream_panic follow active health checks', async () => {
  const { value, lines } = subscribed();
  const a = await healthServer();
  const b = await healthServer();
  const c = cluster('hc', { endpoints: [ep(a.port), ep(b.port)], healthCheck });
  const series = (state: string) => `portico_upstream_endpoints{backend="hc",state="${state}"}`;
  const counts = async () => [
    await value(series('healthy')),
    await value(series('unhealthy')),
    await value(series('ejected')),
  ];
  const panic = () => value('portico_upstream_panic{backend="hc"}');

  assert.deepEqual(await counts(), [2, 0, 0]);
  assert.equal(await panic(), 0);

  a.healthy = false;
  await waitUntil('a marked unhealthy', async () => (await value(series('unhealthy'))) === 1 || undefined);
  assert.deepEqual(await counts(), [1, 1, 0]);
  assert.equal(await panic(), 0);

  b.healthy = false;
  await waitUntil('panic', async () => (await panic()) === 1 || undefined);
  assert.deepEqual(await counts(), [0, 2, 0]);
  const warn = lines.find((l) => l.event === 'portico:upstream:panic');
  assert.equal(warn?.level, 40);
  assert.equal(warn?.backend, 'hc');
  assert.equal(await get(c), 200, 'in panic every endpoint still takes traffic');

  a.healthy = true;
  b.healthy = true;
  await waitUntil('all healthy again', async () => (await value(series('healthy'))) === 2 || undefined);
  assert.equal(await panic(), 0);
  assert.ok(
    lines.some((l) => l.event === 'portico:upstream:panic' && l.level === 30),
    'the end of panic is logged',
  );

  await c.close();
  assert.deepEqual(await counts(), [undefined, undefined, undefined], 'a closed backend leaves no series');
  assert.equal(await panic(), undefined);
});

test('connect failures count, and outlier detection ejects: connect_errors_total, ejections_total, endpoints', async () => {
  const { value } = subscribed();
  const live = await healthServer();
  const dead = await deadPort();
  const c = cluster('od', {
    endpoints: [ep(live.port), ep(dead)],
    outlierDetection: { consecutiveConnectFailures: 1, baseEjectionTime: '10s', maxEjectionPercent: 50 },
  });
  const results = [];
  for (let i = 0; i < 4; i++) results.push(await get(c));
  assert.ok(results.includes('PORTICO_ERR_UPSTREAM_CONNECT'), `${results}`);
  assert.equal(await value('portico_upstream_connect_errors_total{backend="od"}'), 1);
  assert.equal(await value('portico_upstream_ejections_total{backend="od"}'), 1);
  assert.equal(await value('portico_upstream_endpoints{backend="od",state="ejected"}'), 1);
  assert.equal(await value('portico_upstream_endpoints{backend="od",state="healthy"}'), 1);
});

test('two clusters of one Service (two ports) add up; closing one leaves the other counted', async () => {
  const { value } = subscribed();
  const a = await healthServer();
  const b = await healthServer();
  const c1 = cluster('two', { endpoints: [ep(a.port)], healthCheck });
  const c2 = cluster('two', { endpoints: [ep(b.port)], healthCheck });
  const healthy = 'portico_upstream_endpoints{backend="two",state="healthy"}';
  assert.equal(await value(healthy), 2);
  a.healthy = false;
  await waitUntil('c1 in panic', async () => (await value('portico_upstream_panic{backend="two"}')) === 1 || undefined);
  assert.equal(await value(healthy), 1);
  await c1.close();
  assert.equal(await value(healthy), 1);
  assert.equal(await value('portico_upstream_endpoints{backend="two",state="unhealthy"}'), 0);
  assert.equal(await value('portico_upstream_panic{backend="two"}'), 0, 'the cluster in panic is gone');
  await c2.close();
  assert.equal(await value(healthy), undefined);
});
