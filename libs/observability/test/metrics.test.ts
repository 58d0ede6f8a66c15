import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { createMetricsRegistry, ProxyMetrics, REQUEST_DURATION_BUCKETS, Registry } from '../src/index.ts';

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix));
}

test('registry has default process metrics with the portico_ prefix', async () => {
  const text = await createMetricsRegistry().metrics();
  assert.ok(line(text, 'portico_process_cpu_user_seconds_total'), 'process cpu metric');
  assert.ok(line(text, 'portico_nodejs_heap_size_used_bytes'), 'heap metric');
});

test('forRoute observers count by status class and record durations', async () => {
  const registry = createMetricsRegistry();
  const metrics = new ProxyMetrics(registry);
  const demo = metrics.forRoute('demo', 'echo');
  assert.equal(metrics.forRoute('demo', 'echo'), demo, 'observer is cached');
  demo.observe(200, 0.0004);
  demo.observe(204, 0.003);
  demo.observe(503, 2);
  metrics.forRoute('demo', 'other').observe(404, 0.02);
  metrics.forRoute('demo', 'other').observe(0, 0.001); // no status: counted as 5xx

  let text = await registry.metrics();
  assert.equal(
    line(text, 'portico_http_requests_total{route="demo",backend="echo",code_class="2xx"}'),
    'portico_http_requests_total{route="demo",backend="echo",code_class="2xx"} 2',
  );
  assert.match(line(text, 'portico_http_requests_total{route="demo",backend="echo",code_class="5xx"}') ?? '', / 1$/);
  assert.match(line(text, 'portico_http_requests_total{route="demo",backend="other",code_class="4xx"}') ?? '', / 1$/);
  assert.match(line(text, 'portico_http_requests_total{route="demo",backend="other",code_class="5xx"}') ?? '', / 1$/);
  assert.match(text, /# TYPE portico_http_request_duration_seconds histogram/);
  assert.equal(
    line(text, 'portico_http_request_duration_seconds_bucket{route="demo",le="0.0005"}'),
    'portico_http_request_duration_seconds_bucket{route="demo",le="0.0005"} 1',
  );
  assert.match(line(text, 'portico_http_request_duration_seconds_bucket{route="demo",le="0.005"}') ?? '', / 3$/);
  assert.match(line(text, 'portico_http_request_duration_seconds_bucket{route="demo",le="1"}') ?? '', / 4$/);
  assert.match(line(text, 'portico_http_request_duration_seconds_bucket{route="demo",le="+Inf"}') ?? '', / 5$/);
  assert.match(line(text, 'portico_http_request_duration_seconds_count{route="demo"}') ?? '', / 5$/);
  const sum = Number(line(text, 'portico_http_request_duration_seconds_sum{route="demo"}')?.split(' ')[1]);
  assert.ok(Math.abs(sum - 2.0244) < 1e-9, `sum ${sum}`);

  // A second scrape only adds what happened since the first.
  demo.observe(201, 0.001);
  text = await registry.metrics();
  assert.match(line(text, 'portico_http_requests_total{route="demo",backend="echo",code_class="2xx"}') ?? '', / 3$/);
});

test('buckets cover 0.5 ms to 30 s', () => {
  assert.equal(REQUEST_DURATION_BUCKETS[0], 0.0005);
  assert.equal(REQUEST_DURATION_BUCKETS.at(-1), 30);
});

test('the other metrics are registered with their labels', async () => {
  const registry = new Registry();
  const metrics = new ProxyMetrics(registry);
  metrics.upstreamConnectErrors.inc({ backend: 'b' });
  metrics.upstreamEjections.inc({ backend: 'b' });
  metrics.configRevision.set(7);
  metrics.configReloads.inc();
  metrics.configRejected.inc({ kind: 'Route' });
  metrics.upstreamEndpoints.set({ backend: 'b', state: 'healthy' }, 3);
  metrics.upstreamPanic.set({ backend: 'b' }, 1);
  const text = await registry.metrics();
  for (const expected of [
    'portico_upstream_connect_errors_total{backend="b"} 1',
    'portico_upstream_ejections_total{backend="b"} 1',
    'portico_config_revision 7',
    'portico_config_reloads_total 1',
    'portico_config_rejected_total{kind="Route"} 1',
    'portico_upstream_endpoints{backend="b",state="healthy"} 3',
    'portico_upstream_panic{backend="b"} 1',
  ]) {
    assert.ok(text.includes(expected), expected);
  }
});

test('a registry is required', () => {
  assert.throws(() => new ProxyMetrics({} as Registry), /registry must be a prom-client Registry/);
});

test('one observe costs well under 1 µs', () => {
  const observer = new ProxyMetrics(new Registry()).forRoute('bench', 'b');
  const n = 200_000;
  for (let i = 0; i < n; i++) observer.observe(200, 0.002); // warm up
  // CPU time, not wall time: other processes holding the CPU must not count against observe.
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) observer.observe(200 + (i & 3) * 100, 0.002);
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / n;
  // Typically ~35 ns here; the bound is loose so a busy shared machine does not fail it.
  assert.ok(ns < 500, `observe took ${ns.toFixed(1)} ns`);
});

test('summed over proxy workers, gauges read as one proxy: revision and discovery by max, endpoint states averaged', async () => {
  const worker = (revision: number, healthy: number, unhealthy: number, panic: number) => {
    const metrics = new ProxyMetrics(new Registry());
    metrics.configRevision.set(revision);
    metrics.configReloads.inc();
    metrics.upstreamEndpoints.set({ backend: 'b', state: 'healthy' }, healthy);
    metrics.upstreamEndpoints.set({ backend: 'b', state: 'unhealthy' }, unhealthy);
    metrics.upstreamPanic.set({ backend: 'b' }, panic);
    metrics.registryUp.set({ registry: 'zk', type: 'zookeeper' }, 1);
    metrics.setDiscovered([
      { spec: { registry: 'zk', service: 'orders', stale: false, endpoints: [{ healthy: true, weight: 1 }] } },
    ]);
    return metrics.registry.getMetricsAsJSON();
  };
  // Two workers that disagree for a moment about one of two endpoints.
  const merged = AggregatorRegistry.aggregate(await Promise.all([worker(7, 2, 0, 0), worker(7, 1, 1, 1)]));
  const text = await merged.metrics();
  for (const expected of [
    'portico_config_revision 7',
    'portico_config_reloads_total 2',
    'portico_upstream_endpoints{backend="b",state="healthy"} 1.5',
    'portico_upstream_endpoints{backend="b",state="unhealthy"} 0.5',
    'portico_upstream_panic{backend="b"} 1',
    'portico_discovery_registry_up{registry="zk",type="zookeeper"} 1',
    'portico_discovery_endpoints{registry="zk",service="orders",state="healthy"} 1',
    'portico_discovery_stale{registry="zk",service="orders"} 0',
  ]) {
    assert.ok(text.includes(expected), expected);
  }
});
