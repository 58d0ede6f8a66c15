/**
 * The Nacos source against a REAL Nacos server (Nacos 3.1 server modules, standalone, embedded storage; see
 * e2e/testkit/src/nacos.ts), instances registered through its v1 HTTP API the way v1 clients do. Each test uses
 * its own group so they don't see each other's services. The outage test restarts the server, so it runs last.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RegistrySpec } from '@portico/config';
import { type NacosServer, startNacos, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { nacosSource } from '../src/sources/nacos/nacos-source.ts';
import { RecordingSink } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

/** Ephemeral instances registered over HTTP send no beats here: keep them alive and healthy for the whole run. */
const NO_EXPIRY = {
  'preserved.heart.beat.interval': '5000',
  'preserved.heart.beat.timeout': '600000',
  'preserved.ip.delete.timeout': '600000',
};

interface Instance {
  service: string;
  ip?: string;
  port: number;
  group?: string;
  namespace?: string;
  weight?: number;
  cluster?: string;
  enabled?: boolean;
  metadata?: Record<string, string>;
}

function spec(input: Record<string, unknown>): SpecOf<'nacos'> {
  return RegistrySpec.parse({ type: 'nacos', ...input }) as SpecOf<'nacos'>;
}

const hostsOf = (sink: RecordingSink, service: string) =>
  sink.services
    .get(service)
    ?.endpoints.map((e) => `${e.address}:${e.port}`)
    .sort()
    .join(',');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('nacos source (real Nacos server)', () => {
  let nacos: NacosServer;
  const sources: DiscoverySource[] = [];

  async function api(method: string, path: string, params: Record<string, string>): Promise<string> {
    const res = await fetch(`${nacos.url}${path}?${new URLSearchParams(params)}`, { method });
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${path}: ${text}`);
    return text;
  }

  function instanceParams(i: Instance, withAttributes: boolean): Record<string, string> {
    const p: Record<string, string> = {
      serviceName: i.service,
      groupName: i.group ?? 'DEFAULT_GROUP',
      namespaceId: i.namespace ?? 'public',
      ip: i.ip ?? '127.0.0.1',
      port: String(i.port),
      clusterName: i.cluster ?? 'DEFAULT',
      ephemeral: 'true',
    };
    if (withAttributes) {
      p.weight = String(i.weight ?? 1);
      p.enabled = String(i.enabled ?? true);
      p.metadata = JSON.stringify({ ...NO_EXPIRY, ...i.metadata });
    }
    return p;
  }

  const register = (i: Instance) => api('POST', '/v1/ns/instance', instanceParams(i, true));
  const modify = (i: Instance) => api('PUT', '/v1/ns/instance', instanceParams(i, true));
  const deregister = (i: Instance) => api('DELETE', '/v1/ns/instance', instanceParams(i, false));

  async function watch(input: Record<string, unknown>): Promise<{ sink: RecordingSink; source: DiscoverySource }> {
    const sink = new RecordingSink();
    const source = nacosSource({ name: 'nacos', sink, spec: spec({ addresses: [nacos.address], ...input }) });
    sources.push(source);
    await source.start();
    return { sink, source };
  }

  before(async () => {
    nacos = await startNacos();
  });

  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    await nacos?.stop();
  });

  test('initial listing: weights x100, cluster as zone, metadata, Dubbo protocol and weight; consumers:* skipped', async () => {
    const g = 'snap';
    await register({ service: 'orders', group: g, port: 9001, metadata: { version: 'v1' } });
    await register({ service: 'orders', group: g, ip: '127.0.0.2', port: 9002, weight: 2.5, cluster: 'zone-b' });
    await register({
      service: 'consumers:com.example.DemoService::',
      group: g,
      port: 1,
      metadata: { side: 'consumer' },
    });
    await register({
      service: 'providers:com.example.DemoService:1.0.0:g1',
      group: g,
      ip: '127.0.0.3',
      port: 50051,
      metadata: { protocol: 'tri', side: 'provider', category: 'providers', weight: '40' },
    });
    const { sink } = await watch({ groups: [g], refreshInterval: '500ms' });
    const orders = 'orders.snap.public';
    const dubbo = 'providers:com.example.DemoService:1.0.0:g1.snap.public';
    await waitUntil(
      'orders (2 instances) and the Dubbo provider listed',
      () => sink.services.get(orders)?.endpoints.length === 2 && sink.services.has(dubbo),
      WAIT,
    );
    const [a, b] = sink.services.get(orders)!.endpoints;
    assert.deepEqual(
      [a!.address, a!.port, a!.weight, a!.healthy, a!.zone, a!.protocol, a!.metadata.version],
      ['127.0.0.1', 9001, 100, true, undefined, 'http', 'v1'],
    );
    assert.deepEqual([b!.address, b!.port, b!.weight, b!.zone], ['127.0.0.2', 9002, 250, 'zone-b']);
    const [d] = sink.services.get(dubbo)!.endpoints;
    assert.deepEqual([d!.protocol, d!.weight, d!.port], ['tri', 40, 50051]);
    assert.ok(
      sink.calls.every((c) => c.type !== 'snapshot' || c.services.every((s) => !s.name.startsWith('consumers:'))),
      'no consumers:* service in any snapshot',
    );
  });

  test('push: register, weight change, disable, unhealthy, deregister and the last instance leaving', async (t) => {
    const g = 'push';
    const svc = 'pay.push.public';
    await register({ service: 'pay', group: g, port: 9101 });
    // No beats and a 1 s heartbeat timeout: Nacos's beat checker marks it unhealthy within ~5 s.
    await register({
      service: 'pay',
      group: g,
      port: 9109,
      metadata: { 'preserved.heart.beat.interval': '500', 'preserved.heart.beat.timeout': '1000' },
    });
    // A long refresh: changes below must arrive by push (re-list and re-query are 10 s or more away).
    const { sink } = await watch({ groups: [g], refreshInterval: '60s' });
    await waitUntil('pay listed', () => sink.services.get(svc)?.endpoints.length === 2, WAIT);
    const snapshots = () => sink.calls.filter((c) => c.type === 'snapshot').length;
    const snapshotsBefore = snapshots();
    const pushed = { timeoutMs: 3000 };

    await register({ service: 'pay', group: g, port: 9102 });
    await waitUntil('new instance pushed', () => hostsOf(sink, svc)?.includes(':9102') === true, pushed);

    const latencies: number[] = [];
    for (let i = 0; i < 8; i++) {
      const weight = 2 + (i % 2);
      const t0 = performance.now();
      await modify({ service: 'pay', group: g, port: 9102, weight });
      await waitUntil(
        `weight ${weight * 100} pushed`,
        () => sink.services.get(svc)?.endpoints.find((e) => e.port === 9102)?.weight === weight * 100,
        pushed,
      );
      latencies.push(performance.now() - t0);
    }
    latencies.sort((x, y) => x - y);
    t.diagnostic(
      `Nacos write -> sink.update over ${latencies.length} weight changes: p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`,
    );

    // Disabled: Nacos leaves disabled instances out of its lists and pushes.
    await modify({ service: 'pay', group: g, port: 9102, weight: 3, enabled: false });
    await waitUntil('disabled instance gone', () => hostsOf(sink, svc)?.includes(':9102') === false, pushed);

    await waitUntil(
      'instance without beats published as unhealthy (not dropped)',
      () => sink.services.get(svc)?.endpoints.find((e) => e.port === 9109)?.healthy === false,
      { timeoutMs: 15_000 },
    );

    await deregister({ service: 'pay', group: g, port: 9109 });
    await deregister({ service: 'pay', group: g, port: 9102 });
    await waitUntil('deregistrations pushed', () => hostsOf(sink, svc) === '127.0.0.1:9101', pushed);
    await deregister({ service: 'pay', group: g, port: 9101 });
    await waitUntil(
      'the last instance leaving pushed as an empty set',
      () => sink.services.get(svc)?.endpoints.length === 0,
      pushed,
    );
    assert.equal(snapshots(), snapshotsBefore, 'all of it came by push, not by a re-list');
    assert.ok(!sink.calls.some((c) => c.type === 'down'));
  });

  test('namespace, groups and the services filter; services added and removed by the re-list', async () => {
    const ns = 'ns-filter';
    await register({ service: 'keep', group: 'ga', namespace: ns, port: 9201 });
    await register({ service: 'other', group: 'gb', namespace: ns, port: 9202 });
    await register({ service: 'drop', group: 'ga', namespace: ns, port: 9203 });
    await register({ service: 'keep', group: 'ga', port: 9204 }); // public namespace: not watched
    const { sink } = await watch({
      namespace: ns,
      groups: ['ga', 'gb'],
      services: ['keep', 'gb@@other', 'later.gb.ns-filter'],
      refreshInterval: '500ms',
    });
    await waitUntil(
      'filtered services listed',
      () => sink.services.has('keep.ga.ns-filter') && sink.services.has('other.gb.ns-filter'),
      WAIT,
    );
    assert.equal(hostsOf(sink, 'keep.ga.ns-filter'), '127.0.0.1:9201');
    assert.ok(!sink.services.has('drop.ga.ns-filter'));

    await register({ service: 'later', group: 'gb', namespace: ns, port: 9205 });
    await register({ service: 'unwanted', group: 'gb', namespace: ns, port: 9206 });
    await waitUntil('a new service found by the re-list', () => sink.services.has('later.gb.ns-filter'), WAIT);
    assert.ok(!sink.services.has('unwanted.gb.ns-filter'));

    await deregister({ service: 'other', group: 'gb', namespace: ns, port: 9202 });
    await api('DELETE', '/v1/ns/service', { serviceName: 'other', groupName: 'gb', namespaceId: ns });
    await waitUntil('a deleted service left out of the snapshot', () => !sink.services.has('other.gb.ns-filter'), WAIT);
    assert.ok(sink.services.has('keep.ga.ns-filter'));
  });

  test('a malformed registration (port 0) is skipped once; the rest keeps flowing', async () => {
    const g = 'bad';
    const svc = 'mixed.bad.public';
    await register({ service: 'mixed', group: g, port: 0 });
    await register({ service: 'mixed', group: g, port: 9301 });
    const { sink } = await watch({ groups: [g], refreshInterval: '500ms' });
    await waitUntil('good instance listed', () => hostsOf(sink, svc) === '127.0.0.1:9301', WAIT);
    await register({ service: 'mixed', group: g, port: 9302 });
    await waitUntil('later changes still flow', () => hostsOf(sink, svc) === '127.0.0.1:9301,127.0.0.1:9302', WAIT);
    const skipped = sink.calls.filter((c) => c.type === 'skipped');
    assert.equal(skipped.length, 1, 'reported once, not on every re-list');
    assert.equal(skipped[0]!.service, svc);
    assert.match(skipped[0]!.reason, /bad port 0/);
    assert.match(skipped[0]!.raw ?? '', /"port":0/);
  });

  test('registry restarted: down() once, endpoints kept; an empty restarted server is not believed; resync picks up the change', async () => {
    for (const s of sources.splice(0)) await s.stop();
    const g = 'out';
    const svc = 'stock.out.public';
    await register({ service: 'stock', group: g, port: 9401 });
    const { sink } = await watch({ groups: [g], refreshInterval: '1s' });
    await waitUntil('stock listed', () => hostsOf(sink, svc) === '127.0.0.1:9401', WAIT);

    await nacos.restart(async () => {
      await waitUntil('down() while the server is away', () => !sink.connected, { timeoutMs: 10_000 });
      assert.equal(hostsOf(sink, svc), '127.0.0.1:9401', 'nothing removed while away');
    });
    // Back but empty (ephemeral instances died with it): held, still stale, for up to one refreshInterval.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.connected, false, 'an empty restarted server is not snapshotted at once');
    assert.equal(hostsOf(sink, svc), '127.0.0.1:9401');

    await register({ service: 'stock', group: g, port: 9402 });
    await waitUntil(
      'resynced with the new instance',
      () => sink.connected && hostsOf(sink, svc) === '127.0.0.1:9402',
      WAIT,
    );
    assert.equal(sink.calls.filter((c) => c.type === 'down').length, 1, 'down() once per outage');
    assert.ok(!sink.calls.some((c) => c.type === 'remove'));

    // Pushes work again after the resync (the new server knows our UDP subscription).
    await register({ service: 'stock', group: g, port: 9403 });
    await waitUntil(
      'changes flow after the resync',
      () => hostsOf(sink, svc) === '127.0.0.1:9402,127.0.0.1:9403',
      WAIT,
    );
  });
});
