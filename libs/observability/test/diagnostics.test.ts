import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { CHANNELS, createLogger, ProxyMetrics, Registry, subscribeDiagnostics } from '../src/index.ts';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination: stream });
  const registry = new Registry();
  const metrics = new ProxyMetrics(registry);
  return { lines, registry, metrics, logger };
}

test('every channel name follows portico:<lib>:<event>', () => {
  for (const name of Object.values(CHANNELS)) assert.match(name, /^portico:(bus|upstream|proxy|discovery):[a-z-]+$/);
  assert.equal(new Set(Object.values(CHANNELS)).size, Object.values(CHANNELS).length);
});

test('events become log lines and metrics; unsubscribe stops them', async () => {
  const { lines, registry, metrics, logger } = setup();
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  channel(CHANNELS.busInvalid).publish({ kind: 'Route', name: 'demo', errors: [{ path: 'spec', message: 'x' }] });
  channel(CHANNELS.busDisconnect).publish({ error: new Error('connection refused') });
  channel(CHANNELS.busReconnect).publish({});
  channel(CHANNELS.busResync).publish({ resources: 3 });
  channel(CHANNELS.busError).publish({ where: 'listener', error: new Error('listener threw') });
  channel(CHANNELS.upstreamEjected).publish({ backend: 'echo', endpoint: '127.0.0.1:1', reason: 'consecutive5xx' });
  channel(CHANNELS.upstreamUneject).publish({ backend: 'echo', endpoint: '127.0.0.1:1' });
  channel(CHANNELS.upstreamHealth).publish({ backend: 'echo', endpoints: { healthy: 2, ejected: 1 } });
  channel(CHANNELS.upstreamConnectError).publish({ cluster: 'echo', endpoint: '127.0.0.1:1' });
  channel(CHANNELS.upstreamConnectError).publish({ backend: 'echo' });
  channel(CHANNELS.proxyConfigApplied).publish({ revision: 42, resources: 5 });
  channel(CHANNELS.proxyConfigRejected).publish({ kind: 'Service', name: 'x' });
  channel(CHANNELS.proxyConfigRejected).publish('not an object');
  channel(CHANNELS.discoverySynced).publish({ registry: 'zk', type: 'zookeeper', services: 3 });
  channel(CHANNELS.discoveryDown).publish({ registry: 'nacos', type: 'nacos', error: new Error('ECONNREFUSED') });
  channel(CHANNELS.discoverySkipped).publish({ registry: 'zk', service: 'orders', reason: 'bad port' });
  channel(CHANNELS.discoveryError).publish({ registry: 'zk', error: new Error('write refused') });

  const events = lines.map((l) => l.event);
  for (const name of Object.values(CHANNELS)) assert.ok(events.includes(name), `logged ${name}`);
  const disconnect = lines.find((l) => l.event === CHANNELS.busDisconnect)!;
  assert.equal(disconnect.level, 40);
  assert.equal((disconnect.err as { message: string }).message, 'connection refused');
  assert.equal(lines.find((l) => l.event === CHANNELS.busInvalid)?.name, 'demo');
  assert.equal(lines.find((l) => l.event === CHANNELS.busError)?.level, 50);

  const text = await registry.metrics();
  for (const expected of [
    'portico_config_rejected_total{kind="Route"} 1',
    'portico_config_rejected_total{kind="Service"} 1',
    'portico_config_rejected_total{kind="snapshot"} 1',
    'portico_upstream_ejections_total{backend="echo"} 1',
    'portico_upstream_connect_errors_total{backend="echo"} 2',
    'portico_upstream_endpoints{backend="echo",state="healthy"} 2',
    'portico_upstream_endpoints{backend="echo",state="ejected"} 1',
    'portico_config_revision 42',
    'portico_config_reloads_total 1',
    'portico_discovery_registry_up{registry="zk",type="zookeeper"} 1',
    'portico_discovery_registry_up{registry="nacos",type="nacos"} 0',
    'portico_discovery_skipped_total{registry="zk"} 1',
  ]) {
    assert.ok(text.includes(expected), expected);
  }

  unsubscribe();
  unsubscribe(); // idempotent
  const before = lines.length;
  channel(CHANNELS.proxyConfigApplied).publish({ revision: 43 });
  assert.equal(lines.length, before);
  assert.ok((await registry.metrics()).includes('portico_config_revision 42'));
});

test('a handler failure is logged, never thrown into the publisher', () => {
  const { lines, logger, metrics } = setup();
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  try {
    // A label value prom-client refuses would throw inside the handler.
    metrics.configRejected.inc = () => {
      throw new Error('boom');
    };
    assert.doesNotThrow(() => channel(CHANNELS.busInvalid).publish({ kind: 'Route' }));
    assert.ok(lines.some((l) => l.level === 50 && l.event === CHANNELS.busInvalid));
  } finally {
    unsubscribe();
  }
});
