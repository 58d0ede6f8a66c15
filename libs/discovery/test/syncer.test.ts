/**
 * The syncer's decisions (what to write, when to mark stale, what to remove) against the in-memory bus. The source
 * here is driven by the test through the real SourceSink contract; the registry clients have their own int tests.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { type ConfigBus, createMemoryBus } from '@portico/bus';
import { type DiscoveredEndpoint, type EndpointSet, validateResource } from '@portico/config';
import { DiscoverySyncer, discoveryChannels, type SourceSink } from '../src/index.ts';

function ep(address: string, port = 8080, extra: Partial<DiscoveredEndpoint> = {}): DiscoveredEndpoint {
  return { address, port, weight: 100, healthy: true, protocol: 'http', metadata: {}, ...extra };
}

/** A controllable source: the test holds each started source's sink. */
function harness() {
  const sinks = new Map<string, SourceSink>();
  const started: string[] = [];
  const stopped: string[] = [];
  const factories = {
    static: ({ name, sink }: { name: string; sink: SourceSink }) => ({
      async start() {
        started.push(name);
        sinks.set(name, sink);
      },
      async stop() {
        stopped.push(name);
      },
    }),
  };
  return { sinks, started, stopped, factories };
}

async function registry(bus: ConfigBus, name: string, services: string[] = ['a']) {
  const parsed = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'Registry',
    metadata: { name },
    spec: { type: 'static', static: services.map((s) => ({ name: s, endpoints: [] })) },
  });
  assert.ok(parsed.ok);
  await bus.put(parsed.resource);
}

async function sets(bus: ConfigBus): Promise<Map<string, EndpointSet>> {
  return new Map((await bus.list('EndpointSet')).map((s) => [s.spec.service, s]));
}

async function settle(syncer: DiscoverySyncer): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await syncer.flushed();
}

test('a listing is written once per service, sorted, and an unchanged report writes nothing', async () => {
  const bus = createMemoryBus();
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories });
  await registry(bus, 'reg');
  await syncer.start();
  await settle(syncer);
  const sink = h.sinks.get('reg')!;
  sink.snapshot([
    { name: 'orders', endpoints: [ep('10.0.0.2'), ep('10.0.0.1')] },
    { name: 'providers:com.example.Demo:1.0.0:', endpoints: [ep('10.0.0.3', 20880, { protocol: 'tri' })] },
  ]);
  await settle(syncer);
  const first = await sets(bus);
  assert.deepEqual([...first.keys()].sort(), ['orders', 'providers:com.example.Demo:1.0.0:']);
  const orders = first.get('orders')!;
  assert.deepEqual(
    orders.spec.endpoints.map((e) => e.address),
    ['10.0.0.1', '10.0.0.2'],
  );
  assert.equal(orders.spec.stale, false);
  assert.match(orders.metadata.name, /^reg\.orders-[0-9a-f]{8}$/);

  sink.update({ name: 'orders', endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] });
  await settle(syncer);
  assert.equal((await sets(bus)).get('orders')!.metadata.resourceVersion, orders.metadata.resourceVersion);

  sink.update({ name: 'orders', endpoints: [ep('10.0.0.1', 8080, { weight: 300 })] });
  await settle(syncer);
  const changed = (await sets(bus)).get('orders')!;
  assert.notEqual(changed.metadata.resourceVersion, orders.metadata.resourceVersion);
  assert.notEqual(changed.spec.revision, orders.spec.revision);
  assert.equal(changed.spec.endpoints[0]!.weight, 300);
  await syncer.stop();
});

test('an outage keeps every endpoint, marked stale; the next listing clears it and removes what is gone', async () => {
  const bus = createMemoryBus();
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories });
  await registry(bus, 'reg');
  await syncer.start();
  await settle(syncer);
  const sink = h.sinks.get('reg')!;
  sink.snapshot([
    { name: 'a', endpoints: [ep('10.0.0.1')] },
    { name: 'b', endpoints: [ep('10.0.0.2')] },
  ]);
  await settle(syncer);
  sink.down(new Error('connection refused'));
  sink.down(new Error('connection refused again'));
  await settle(syncer);
  const during = await sets(bus);
  assert.equal(during.size, 2);
  for (const set of during.values()) {
    assert.equal(set.spec.stale, true);
    assert.equal(set.spec.endpoints.length, 1);
  }
  sink.snapshot([{ name: 'a', endpoints: [ep('10.0.0.1'), ep('10.0.0.9')] }]);
  await settle(syncer);
  const after = await sets(bus);
  assert.deepEqual([...after.keys()], ['a']);
  assert.equal(after.get('a')!.spec.stale, false);
  assert.equal(after.get('a')!.spec.endpoints.length, 2);
  await syncer.stop();
});

test('removing a Registry stops its source and removes its sets; other registries keep theirs', async () => {
  const bus = createMemoryBus();
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories });
  await registry(bus, 'one');
  await registry(bus, 'two');
  await syncer.start();
  await settle(syncer);
  h.sinks.get('one')!.snapshot([{ name: 'x', endpoints: [ep('10.0.0.1')] }]);
  h.sinks.get('two')!.snapshot([{ name: 'x', endpoints: [ep('10.0.0.2')] }]);
  await settle(syncer);
  assert.equal((await bus.list('EndpointSet')).length, 2);
  await bus.delete('Registry', 'one');
  await settle(syncer);
  const left = await bus.list('EndpointSet');
  assert.deepEqual(
    left.map((s) => s.spec.registry),
    ['two'],
  );
  assert.deepEqual(h.stopped, ['one']);
  // A late report from the stopped source changes nothing.
  h.sinks.get('one')!.snapshot([{ name: 'late', endpoints: [ep('10.0.0.3')] }]);
  await settle(syncer);
  assert.equal((await bus.list('EndpointSet')).length, 1);
  await syncer.stop();
});

test('a changed Registry restarts its source and keeps the sets until the new listing', async () => {
  const bus = createMemoryBus();
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories });
  await registry(bus, 'reg', ['a']);
  await syncer.start();
  await settle(syncer);
  h.sinks.get('reg')!.snapshot([{ name: 'a', endpoints: [ep('10.0.0.1')] }]);
  await settle(syncer);
  await registry(bus, 'reg', ['a', 'b']);
  await settle(syncer);
  assert.deepEqual(h.started, ['reg', 'reg']);
  assert.deepEqual(h.stopped, ['reg']);
  assert.equal((await bus.list('EndpointSet')).length, 1, 'kept until the new source lists');
  h.sinks.get('reg')!.snapshot([{ name: 'b', endpoints: [ep('10.0.0.2')] }]);
  await settle(syncer);
  assert.deepEqual(
    (await bus.list('EndpointSet')).map((s) => s.spec.service),
    ['b'],
  );
  await syncer.stop();
});

test('a restarted syncer adopts the sets in the bus: a registry that is down at start keeps them, stale', async () => {
  const bus = createMemoryBus();
  const h1 = harness();
  const first = new DiscoverySyncer({ bus, factories: h1.factories });
  await registry(bus, 'reg');
  await first.start();
  await settle(first);
  h1.sinks.get('reg')!.snapshot([{ name: 'a', endpoints: [ep('10.0.0.1')] }]);
  await settle(first);
  await first.stop();

  const h2 = harness();
  const second = new DiscoverySyncer({ bus, factories: h2.factories });
  await second.start();
  await settle(second);
  h2.sinks.get('reg')!.down(new Error('registry unreachable'));
  await settle(second);
  const [set] = await bus.list('EndpointSet');
  assert.equal(set?.spec.stale, true);
  assert.equal(set?.spec.endpoints[0]?.address, '10.0.0.1');
  await second.stop();
});

test('a skipped registration is published with the registry and reason', async () => {
  const bus = createMemoryBus();
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories });
  await registry(bus, 'reg');
  await syncer.start();
  await settle(syncer);
  const seen: unknown[] = [];
  const onSkip = (m: unknown) => seen.push(m);
  subscribe(discoveryChannels.skipped.name, onSkip);
  try {
    h.sinks.get('reg')!.skipped('orders', 'port 70000 is out of range', 'orders@10.0.0.1:70000');
    assert.deepEqual(seen, [
      {
        registry: 'reg',
        type: 'static',
        service: 'orders',
        reason: 'port 70000 is out of range',
        raw: 'orders@10.0.0.1:70000',
      },
    ]);
  } finally {
    unsubscribe(discoveryChannels.skipped.name, onSkip);
  }
  await syncer.stop();
});

test('a bus write that fails is retried until it lands', async () => {
  const real = createMemoryBus();
  let failures = 2;
  const bus: ConfigBus = {
    ...real,
    put: (r) => (r.kind === 'EndpointSet' && failures-- > 0 ? Promise.reject(new Error('bus away')) : real.put(r)),
    watch: (l) => real.watch(l),
  };
  const h = harness();
  const syncer = new DiscoverySyncer({ bus, factories: h.factories, retryDelayMs: 20 });
  await registry(real, 'reg');
  await syncer.start();
  await settle(syncer);
  h.sinks.get('reg')!.snapshot([{ name: 'a', endpoints: [ep('10.0.0.1')] }]);
  await settle(syncer);
  assert.equal(failures, -1);
  assert.equal((await real.list('EndpointSet')).length, 1);
  await syncer.stop();
});
