import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { CHANNEL_CONNECT_ERROR, CHANNEL_EJECTED, CHANNEL_HEALTH, CHANNEL_UNEJECT } from '../src/channels.ts';
import { deadPort, fetchVia, tracked, until } from './helpers.ts';

const { server, cluster } = tracked();
const ep = (port: number) => ({ address: '127.0.0.1', port });

function record(channel: string): unknown[] {
  const seen: unknown[] = [];
  const fn = (m: unknown) => seen.push(m);
  diagnostics.subscribe(channel, fn);
  after(() => diagnostics.unsubscribe(channel, fn));
  return seen;
}

describe('outlier detection', () => {
  it('ejects after N consecutive 5xx and brings the endpoint back after the ejection time', async () => {
    const ejected = record(CHANNEL_EJECTED);
    const unejected = record(CHANNEL_UNEJECT);
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
    assert.equal(c.stats.ejections, 1);
    assert.deepEqual((ejected[0] as { endpoint: string; reason: string }).reason, '5xx');
    const hitsWhileEjected = flaky.hits;
    for (let i = 0; i < 6; i++) assert.equal((await fetchVia(c)).body.toString(), 'good');
    assert.equal(flaky.hits, hitsWhileEjected);

    failing = false;
    await until(() => !c.endpoints().find((e) => e.port === flaky.port)!.ejected, 2000, 'uneject');
    assert.equal(unejected.length, 1);
    const bodies = new Set<string>();
    for (let i = 0; i < 4; i++) bodies.add((await fetchVia(c)).body.toString());
    assert.deepEqual([...bodies].sort(), ['flaky', 'good']);
  });

  it('ejects on connect failures, publishes connect-error, and never ejects more than maxEjectionPercent', async () => {
    const connectErrors = record(CHANNEL_CONNECT_ERROR);
    const d1 = await deadPort();
    const d2 = await deadPort();
    const c = cluster('connfail', {
      endpoints: [ep(d1), ep(d2)],
      outlierDetection: { consecutiveConnectFailures: 2, baseEjectionTime: '10s', maxEjectionPercent: 50 },
    });
    for (let i = 0; i < 8; i++) await fetchVia(c);
    assert.equal(c.endpoints().filter((e) => e.ejected).length, 1, 'only 50% of 2 endpoints may be ejected');
    assert.ok(connectErrors.length >= 4);
    assert.equal((connectErrors[0] as { cluster: string }).cluster, 'connfail');
  });

  it('falls back to every endpoint (panic mode) when all are ejected', async () => {
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
    assert.ok(c.stats.panicPicks >= 1);
  });
});

describe('active health checks', () => {
  it('marks an endpoint down after unhealthyThreshold failures and up after healthyThreshold passes', async () => {
    const changes = record(CHANNEL_HEALTH);
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
    await until(() => s.hits >= 2, 2000, 'first checks');
    assert.equal(mine().healthy, true);
    healthy = false;
    await until(() => !mine().healthy, 2000, 'marked down');
    for (let i = 0; i < 4; i++) assert.equal((await fetchVia(c)).body.toString(), 'other');
    healthy = true;
    await until(() => mine().healthy, 2000, 'marked up');
    assert.deepEqual(
      changes
        .filter((m) => (m as { cluster: string }).cluster === 'hc')
        .map((m) => (m as { healthy: boolean }).healthy),
      [false, true],
    );
    await c.close();
    const hits = s.hits;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(s.hits, hits, 'checks stop on close');
  });

  it('treats a timeout as a failed check', async () => {
    const hang = await server(() => {});
    const c = cluster('hc-timeout', {
      endpoints: [ep(hang.port)],
      healthCheck: { path: '/', interval: '20ms', timeout: '30ms', unhealthyThreshold: 1 },
    });
    await until(() => !c.endpoints()[0]!.healthy, 2000, 'marked down by timeouts');
    assert.equal(c.panic, true);
  });
});
