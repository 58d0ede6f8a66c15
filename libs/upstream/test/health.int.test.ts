import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { upstreamChannels } from '../src/channels.ts';
import { deadPort, fetchVia, record, tracked } from './helpers.ts';

const { server, cluster } = tracked();
const ep = (port: number) => ({ address: '127.0.0.1', port });

describe('outlier detection', () => {
  it('ejects after N consecutive 5xx and brings the endpoint back after the ejection time', async () => {
    const ejected = record(upstreamChannels.ejected);
    const unejected = record(upstreamChannels.uneject);
    let failing = true;
    const flaky = await server((_req, res) => {
      res.statusCode = failing ? 500 : 200;
      res.end('flaky');
    });
    const good = await server((_req, res) => res.end('good'));
    const c = cluster('outlier', {
      endpoints: [ep(flaky.port), ep(good.port)],
      outlierDetection: { consecutive5xx: 3, baseEjectionTime: '300ms', maxEjectionPercent: 50 },
    });
    for (let i = 0; i < 6; i++) await fetchVia(c);
    const state = c.endpoints().find((e) => e.port === flaky.port)!;
    assert.equal(state.ejected, true);
    const mine = ejected.filter((e) => e.backend === 'outlier');
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.endpoint, `127.0.0.1:${flaky.port}`);
    assert.equal(mine[0]!.reason, '5xx');
    assert.equal(mine[0]!.consecutive, 3);
    const hitsWhileEjected = flaky.hits;
    for (let i = 0; i < 6; i++) assert.equal((await fetchVia(c)).body.toString(), 'good');
    assert.equal(flaky.hits, hitsWhileEjected);

    failing = false;
    await waitUntil('uneject', () => !c.endpoints().find((e) => e.port === flaky.port)!.ejected, { timeoutMs: 2000 });
    assert.deepEqual(
      unejected.filter((e) => e.backend === 'outlier'),
      [{ backend: 'outlier', endpoint: `127.0.0.1:${flaky.port}` }],
    );
    const bodies = new Set<string>();
    for (let i = 0; i < 4; i++) bodies.add((await fetchVia(c)).body.toString());
    assert.deepEqual([...bodies].sort(), ['flaky', 'good']);
  });

  it('ejects on connect failures, publishes connect-error, and never ejects more than maxEjectionPercent', async () => {
    const connectErrors = record(upstreamChannels.connectError);
    const d1 = await deadPort();
    const d2 = await deadPort();
    const c = cluster('connfail', {
      endpoints: [ep(d1), ep(d2)],
      outlierDetection: { consecutiveConnectFailures: 2, baseEjectionTime: '10s', maxEjectionPercent: 50 },
    });
    for (let i = 0; i < 8; i++) await fetchVia(c);
    assert.equal(c.endpoints().filter((e) => e.ejected).length, 1, 'only 50% of 2 endpoints may be ejected');
    const mine = connectErrors.filter((e) => e.backend === 'connfail');
    assert.ok(mine.length >= 4, `${mine.length} connect errors`);
    assert.ok(mine.every((e) => e.endpoint === `127.0.0.1:${d1}` || e.endpoint === `127.0.0.1:${d2}`));
    assert.equal((mine[0]!.error as { code: string }).code, 'PORTICO_ERR_UPSTREAM_CONNECT');
  });

  it('falls back to every endpoint (panic mode) when all are ejected, and says so on the panic channel', async () => {
    const panics = record(upstreamChannels.panic);
    const bad = await server((_req, res) => {
      res.statusCode = 502;
      res.end('still here');
    });
    const c = cluster('panic', {
      endpoints: [ep(bad.port)],
      outlierDetection: { consecutive5xx: 1, baseEjectionTime: '10s', maxEjectionPercent: 100 },
    });
    await fetchVia(c);
    assert.equal(c.endpoints()[0]!.ejected, true);
    assert.equal(c.panic, true);
    const r = await fetchVia(c);
    assert.equal(r.status, 502);
    assert.equal(r.body.toString(), 'still here');
    assert.equal(bad.hits, 2, 'the ejected endpoint still took the request');
    assert.deepEqual(
      panics.filter((e) => e.backend === 'panic'),
      [{ backend: 'panic', cluster: c.id, panic: true }],
    );
    await c.close();
    assert.deepEqual(
      panics.filter((e) => e.backend === 'panic').map((e) => e.panic),
      [true, false],
      'closing a cluster in panic ends it',
    );
  });
});

describe('active health checks', () => {
  it('marks an endpoint down after unhealthyThreshold failures and up after healthyThreshold passes', async () => {
    const changes = record(upstreamChannels.health);
    const counts = record(upstreamChannels.endpoints);
    let healthy = true;
    const s = await server((req, res) => {
      if (req.url === '/healthz') res.statusCode = healthy ? 204 : 503;
      res.end(req.url);
    });
    const other = await server((_req, res) => res.end('other'));
    const c = cluster('hc', {
      endpoints: [ep(s.port), ep(other.port)],
      healthCheck: { path: '/healthz', interval: '20ms', timeout: '200ms', healthyThreshold: 2, unhealthyThreshold: 2 },
    });
    const mine = () => c.endpoints().find((e) => e.port === s.port)!;
    await waitUntil('first checks', () => s.hits >= 2, { timeoutMs: 2000 });
    assert.equal(mine().healthy, true);
    healthy = false;
    await waitUntil('marked down', () => !mine().healthy, { timeoutMs: 2000 });
    for (let i = 0; i < 4; i++) assert.equal((await fetchVia(c)).body.toString(), 'other');
    healthy = true;
    await waitUntil('marked up', () => mine().healthy, { timeoutMs: 2000 });
    const mineChanges = changes.filter((e) => e.backend === 'hc');
    assert.deepEqual(
      mineChanges.map((e) => [e.endpoint, e.healthy, e.status]),
      [
        [`127.0.0.1:${s.port}`, false, 503],
        [`127.0.0.1:${s.port}`, true, 204],
      ],
    );
    assert.deepEqual(
      counts.filter((e) => e.backend === 'hc').map((e) => [e.endpoints, e.closed]),
      [
        [{ healthy: 2, unhealthy: 0, ejected: 0 }, false],
        [{ healthy: 1, unhealthy: 1, ejected: 0 }, false],
        [{ healthy: 2, unhealthy: 0, ejected: 0 }, false],
      ],
    );
    await c.close();
    const hits = s.hits;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(s.hits, hits, 'checks stop on close');
    const last = counts.filter((e) => e.backend === 'hc').at(-1)!;
    assert.deepEqual([last.cluster, last.closed], [c.id, true], 'closing says the cluster is gone');
  });

  it('treats a timeout as a failed check', async () => {
    const hang = await server(() => {});
    const c = cluster('hc-timeout', {
      endpoints: [ep(hang.port)],
      healthCheck: { path: '/', interval: '20ms', timeout: '30ms', unhealthyThreshold: 1 },
    });
    await waitUntil('marked down by timeouts', () => !c.endpoints()[0]!.healthy, { timeoutMs: 2000 });
    assert.equal(c.panic, true);
  });
});
