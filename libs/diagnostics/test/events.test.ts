import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busChannels } from '@portico/bus';
import { proxyChannels } from '@portico/dataplane';
import { discoveryChannels } from '@portico/discovery';
import { type ChannelDescriptor, createLogger, ProxyMetrics, Registry } from '@portico/observability';
import { routerChannels } from '@portico/router';
import { upstreamChannels } from '@portico/upstream';
import { subscribeDiagnostics } from '../src/index.ts';
import { subscribed } from './helpers.ts';

const ALL: ChannelDescriptor<unknown>[] = [
  busChannels,
  discoveryChannels,
  proxyChannels,
  routerChannels,
  upstreamChannels,
].flatMap((channels) => Object.values(channels) as ChannelDescriptor<unknown>[]);

test('every lib channel is named portico:<lib>:<event>, once, and subscribed until unsubscribe', () => {
  const names = ALL.map((c) => c.name);
  for (const name of names) assert.match(name, /^portico:(bus|discovery|proxy|router|upstream):[a-z-]+$/);
  assert.equal(new Set(names).size, names.length, 'no name twice');
  const unsubscribe = subscribeDiagnostics({
    logger: createLogger({ level: 'silent' }),
    metrics: new ProxyMetrics(new Registry()),
  });
  assert.deepEqual(
    ALL.filter((c) => !c.hasSubscribers).map((c) => c.name),
    [],
    'every channel has the diagnostics subscriber',
  );
  unsubscribe();
  unsubscribe(); // idempotent
  assert.deepEqual(
    ALL.filter((c) => c.hasSubscribers).map((c) => c.name),
    [],
    'nothing left subscribed',
  );
});

test('the targets are checked', () => {
  const metrics = new ProxyMetrics(new Registry());
  assert.throws(() => subscribeDiagnostics({ logger: {} as never, metrics }), /logger must be a Logger/);
  assert.throws(
    () => subscribeDiagnostics({ logger: createLogger({ level: 'silent' }), metrics: {} as never }),
    /metrics must be a ProxyMetrics/,
  );
});

test('each event becomes one log line at its level, with its fields', () => {
  const { lines, unsubscribe } = subscribed();
  const at = lines.length;
  const cause = new Error('connection refused');
  busChannels.invalid.publish({ kind: 'Route', key: 'demo', revision: 7, errors: [{ path: 'spec', message: 'x' }] });
  busChannels.disconnect.publish({ server: 'nats://127.0.0.1:4222' });
  busChannels.reconnect.publish({ server: 'nats://127.0.0.1:4222' });
  busChannels.resync.publish({ revision: 9, durationMs: 3, resources: 4 });
  busChannels.error.publish({ where: 'listener', error: new Error('listener threw') });
  discoveryChannels.synced.publish({ registry: 'zk', type: 'zookeeper', services: 3 });
  discoveryChannels.down.publish({ registry: 'zk', type: 'zookeeper', error: cause, services: 3 });
  discoveryChannels.skipped.publish({ registry: 'zk', type: 'zookeeper', service: 'orders', reason: 'bad port' });
  discoveryChannels.error.publish({ registry: 'zk', error: new Error('write refused') });
  proxyChannels.configApplied.publish({ revision: 42, rules: 5, durationMs: 1, certificateErrors: [] });
  proxyChannels.configApplied.publish({
    revision: 43,
    rules: 5,
    durationMs: 1,
    certificateErrors: [{ name: 'tls', message: 'bad key' }],
  });
  proxyChannels.configRejected.publish({ revision: 44, error: new Error('compile bug') });
  routerChannels.compiled.publish({ routes: 1, rules: 2, candidates: 2, hostGroups: 1, durationMs: 0.1 });
  upstreamChannels.uneject.publish({ backend: 'echo', endpoint: '127.0.0.1:1' });
  upstreamChannels.health.publish({
    backend: 'echo',
    endpoint: '127.0.0.1:1',
    healthy: false,
    status: 503,
    error: undefined,
  });
  upstreamChannels.health.publish({
    backend: 'echo',
    endpoint: '127.0.0.1:1',
    healthy: true,
    status: 204,
    error: undefined,
  });

  const got = lines.slice(at).map((l) => [l.event, l.level]);
  assert.deepEqual(got, [
    ['portico:bus:invalid', 40],
    ['portico:bus:disconnect', 40],
    ['portico:bus:reconnect', 30],
    ['portico:bus:resync', 30],
    ['portico:bus:error', 50],
    ['portico:discovery:synced', 30],
    ['portico:discovery:down', 40],
    ['portico:discovery:skipped', 40],
    ['portico:discovery:error', 50],
    ['portico:proxy:config-applied', 30],
    ['portico:proxy:config-applied', 40],
    ['portico:proxy:config-rejected', 40],
    ['portico:router:compiled', 20],
    ['portico:upstream:uneject', 30],
    ['portico:upstream:health', 40],
    ['portico:upstream:health', 30],
  ]);
  const mine = lines.slice(at);
  assert.equal(mine[0]!.key, 'demo');
  assert.equal(mine[0]!.component, 'diagnostics');
  assert.equal((mine[6]!.err as { message: string }).message, 'connection refused', 'errors go out as err');
  assert.equal(mine[14]!.status, 503);
  unsubscribe();
});

test('a handler failure is logged, never thrown into the publisher', () => {
  const { lines, metrics, unsubscribe } = subscribed();
  // A label value prom-client refuses would throw inside the handler.
  metrics.configRejected.inc = () => {
    throw new Error('boom');
  };
  assert.doesNotThrow(() => busChannels.invalid.publish({ kind: 'Route', key: 'k', revision: 1, errors: [] }));
  const line = lines.find((l) => l.event === 'portico:bus:invalid' && l.level === 50);
  assert.equal((line?.err as { message: string } | undefined)?.message, 'boom');
  unsubscribe();
});
