/**
 * The config and discovery metrics, set by the events their real publishers send: a replica bus refusing an
 * invalid value, and a discovery syncer whose source lists, goes down and skips a registration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus, createReplicaBus } from '@portico/bus';
import { validateResource } from '@portico/config';
import { DiscoverySyncer, type SourceSink } from '@portico/discovery';
import { waitUntil } from '@portico/testkit';
import { subscribed } from './helpers.ts';

test('an invalid value read from the bus counts in portico_config_rejected_total{kind}', async () => {
  const { value, lines } = subscribed();
  const replica = createReplicaBus();
  const good = {
    apiVersion: 'portico.dev/v1',
    kind: 'Service',
    metadata: { name: 'a', resourceVersion: '1' },
    spec: {
      protocol: 'http',
      endpoints: [{ address: '127.0.0.1', port: 2001, weight: 1 }],
      loadBalancer: { type: 'RoundRobin' },
    },
  };
  replica.apply({ type: 'portico:replica-state', resources: [good] });
  assert.equal(await value('portico_config_rejected_total{kind="Service"}'), undefined);
  const bad = {
    ...good,
    metadata: { name: 'a', resourceVersion: '2' },
    spec: { endpoints: [{ address: '', port: -1 }] },
  };
  replica.apply({ type: 'portico:replica-state', resources: [bad] });
  assert.equal(await value('portico_config_rejected_total{kind="Service"}'), 1);
  const line = lines.find((l) => l.event === 'portico:bus:invalid');
  assert.equal(line?.kind, 'Service');
  assert.ok(Array.isArray(line?.errors) && line.errors.length > 0, 'the line names what was wrong');
});

test('a registry listed, down and skipping a registration: registry_up and skipped_total', async () => {
  const { value } = subscribed();
  const bus = createMemoryBus();
  let sink!: SourceSink;
  const syncer = new DiscoverySyncer({
    bus,
    factories: {
      static: ({ sink: s }: { sink: SourceSink }) => ({
        async start() {
          sink = s;
        },
        async stop() {},
      }),
    },
  });
  const parsed = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'Registry',
    metadata: { name: 'reg' },
    spec: { type: 'static', static: [{ name: 'orders', endpoints: [] }] },
  });
  assert.ok(parsed.ok);
  await bus.put(parsed.resource);
  await syncer.start();
  try {
    await waitUntil('the source to start', () => sink);
    const up = 'portico_discovery_registry_up{registry="reg",type="static"}';
    sink.snapshot([{ name: 'orders', endpoints: [] }]);
    assert.equal(await waitUntil('registry up', async () => (await value(up)) === 1 || undefined), true);
    sink.down(new Error('ECONNREFUSED'));
    assert.equal(await waitUntil('registry down', async () => (await value(up)) === 0 || undefined), true);
    sink.skipped('payments', 'port is not a number', '{"port":"x"}');
    sink.skipped('payments', 'port is not a number', '{"port":"y"}');
    const skipped = 'portico_discovery_skipped_total{registry="reg"}';
    assert.equal(await waitUntil('two skips counted', async () => (await value(skipped)) === 2 || undefined), true);
  } finally {
    await syncer.stop();
  }
});
