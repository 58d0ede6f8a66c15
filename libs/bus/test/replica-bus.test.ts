import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { BusReadOnlyError, busChannels, createMemoryBus, createReplicaBus, replicaMessage } from '../src/index.ts';

const service = (name: string, port: number) => ({
  apiVersion: 'portico.dev/v1' as const,
  kind: 'Service' as const,
  metadata: { name },
  spec: {
    protocol: 'http' as const,
    endpoints: [{ address: '127.0.0.1', port, weight: 1 }],
    loadBalancer: { type: 'RoundRobin' as const },
  },
});

test('a replica follows its primary state and rejects writes', async () => {
  const primary = createMemoryBus();
  await primary.put(service('a', 1001));
  const replica = createReplicaBus();
  const states: number[] = [];
  let watched: Promise<unknown> | undefined;
  await primary.watch((state) => {
    replica.apply(structuredClone(replicaMessage(state)));
    watched ??= replica.bus.watch((s) => states.push(s.get('Service').get('a')?.spec.endpoints[0]?.port ?? 0));
  });
  await watched;
  assert.deepEqual(states, [1001]);
  await primary.put(service('a', 1002));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(states, [1001, 1002]);
  await assert.rejects(replica.bus.put(service('b', 1)), BusReadOnlyError);
  await primary.close();
});

test('an invalid entry is published and the last good value stays', async () => {
  const replica = createReplicaBus();
  const good = { ...service('a', 2001), metadata: { name: 'a', resourceVersion: '1' } };
  replica.apply({ type: 'portico:replica-state', resources: [good] });
  const invalid: unknown[] = [];
  const onInvalid = (m: unknown) => invalid.push(m);
  channel(busChannels.invalid.name).subscribe(onInvalid);
  const bad = {
    ...good,
    metadata: { name: 'a', resourceVersion: '2' },
    spec: { endpoints: [{ address: '', port: -1 }] },
  };
  assert.equal(replica.apply({ type: 'portico:replica-state', resources: [bad] }), 1);
  channel(busChannels.invalid.name).unsubscribe(onInvalid);
  assert.equal(invalid.length, 1);
  const kept = await replica.bus.get('Service', 'a');
  assert.equal(kept?.spec.endpoints[0]?.port, 2001);
});
