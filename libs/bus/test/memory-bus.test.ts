import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '../src/index.ts';
import { busContract } from './contract.ts';
import { recorder, route, service } from './helpers.ts';

busContract('memory', async () => createMemoryBus());

test('memory: a burst in one tick gives exactly one listener call, revision counts the changes', async () => {
  const bus = createMemoryBus();
  const rec = recorder();
  await bus.watch(rec.listener);
  assert.equal(rec.states.length, 1);
  assert.equal(rec.last.revision, 0);
  await bus.put(service('a'));
  await bus.put(service('b'));
  await bus.put(route('r', 'a'));
  assert.equal(await bus.delete('Service', 'b'), true);
  await new Promise((r) => setImmediate(r));
  assert.equal(rec.states.length, 2);
  assert.equal(rec.last.revision, 4);
  assert.deepEqual([...rec.last.get('Service').keys()], ['a']);
  await bus.close();
});

test('memory: a throwing listener does not stop the others', async () => {
  const bus = createMemoryBus();
  const rec = recorder();
  await bus.watch((s) => {
    if (s.revision > 0) throw new Error('boom');
  });
  await bus.watch(rec.listener);
  await bus.put(service('a'));
  await new Promise((r) => setImmediate(r));
  assert.equal(rec.states.length, 2);
  assert.ok(rec.last.get('Service').has('a'));
  await bus.close();
});

test('memory: values handed out are copies', async () => {
  const bus = createMemoryBus();
  const { resource } = await bus.put(service('a'));
  resource.metadata.name = 'changed';
  const got = await bus.get('Service', 'a');
  assert.ok(got);
  got.spec.endpoints.push({ address: 'x', port: 1, weight: 1 });
  assert.equal((await bus.get('Service', 'a'))?.spec.endpoints.length, 1);
  await bus.close();
});
