/** NATS-only behaviour: bad values written behind the bus's back, and NATS going away and coming back. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { ChannelDescriptor } from '@portico/observability';
import { freePort, type NatsServer, startNatsServer, waitUntil } from '@portico/testkit';
import { BusUnavailableError, bucketName, busChannels, type ConfigBus, createNatsBus } from '../src/index.ts';
import { ports, recorder, route, service } from './helpers.ts';

const servers: NatsServer[] = [];
const buses: ConfigBus[] = [];
after(async () => {
  for (const b of buses) await b.close();
  for (const s of servers) await s.stop();
});

function listen<T>(channel: ChannelDescriptor<T>): { events: T[]; done(): void } {
  const events: T[] = [];
  const done = channel.subscribe((event) => {
    events.push(event);
  });
  return { events, done };
}

test('garbage written straight into a bucket is rejected and the last good value stays', async () => {
  const ns = await startNatsServer();
  servers.push(ns);
  const bus = await createNatsBus({ servers: ns.url, bucketPrefix: 'garbage' });
  buses.push(bus);
  await bus.put(service('users'));
  const rec = recorder();
  await bus.watch(rec.listener);
  const invalid = listen(busChannels.invalid);

  const raw = await connect({ servers: ns.url });
  try {
    const kv = await new Kvm(raw).open(bucketName('garbage', 'Service'));
    await kv.put('users', 'not json {');
    await kv.put('users', JSON.stringify(service('users', 0)));
    await kv.put('users', JSON.stringify(service('someone-else')));
    await kv.put('ghost', JSON.stringify({ apiVersion: 'portico.dev/v1', kind: 'Route', metadata: { name: 'ghost' } }));
    await waitUntil('four invalid events', () => invalid.events.length >= 4);

    const [notJson, badPort, wrongName, wrongKind] = invalid.events;
    assert.deepEqual([notJson?.kind, notJson?.key], ['Service', 'users']);
    assert.match(notJson?.errors[0]?.message ?? '', /^not JSON/);
    assert.deepEqual(
      badPort?.errors.map((e) => e.path),
      ['spec.endpoints[0].port'],
    );
    assert.equal(wrongName?.errors[0]?.path, 'metadata.name');
    assert.equal(wrongKind?.key, 'ghost');
    assert.ok((wrongKind?.revision ?? 0) > (notJson?.revision ?? 0));

    // The watcher kept the last good value and never saw the ghost.
    assert.deepEqual(ports(rec.last.get('Service').get('users')), [80]);
    assert.equal(rec.last.get('Service').has('ghost'), false);
    // Reads keep it too.
    assert.deepEqual(ports(await bus.get('Service', 'users')), [80]);
    assert.deepEqual(
      (await bus.list('Service')).map((s) => s.metadata.name),
      ['users'],
    );

    // A good value written the same way is taken.
    await kv.put('users', JSON.stringify(service('users', 7070)));
    await waitUntil('the good raw value', () => ports(rec.last.get('Service').get('users'))[0] === 7070);

    // A reader that starts on a bad value has no last good one: the key is simply absent.
    await kv.put('users', '{"half":');
    const fresh = await createNatsBus({ servers: ns.url, bucketPrefix: 'garbage' });
    buses.push(fresh);
    const freshRec = recorder();
    await fresh.watch(freshRec.listener);
    assert.equal(freshRec.last.get('Service').size, 0);
    assert.deepEqual(ports(rec.last.get('Service').get('users')), [7070], 'the old reader still has its last good');

    // put() over a bad value writes a new good one.
    const put = await bus.put(service('users', 81));
    assert.equal(put.changed, true);
    await waitUntil('the repaired value', () => ports(freshRec.last.get('Service').get('users'))[0] === 81);
  } finally {
    invalid.done();
    await raw.close();
  }
});

test('NATS going away keeps the state and fails writes with 503; coming back resyncs changes made meanwhile', async () => {
  const ns = await startNatsServer();
  servers.push(ns);
  const watcher = await createNatsBus({
    servers: ns.url,
    bucketPrefix: 'outage',
    requestTimeout: 500,
    reconnectTimeWait: 100,
  });
  buses.push(watcher);
  await watcher.put(service('users'));
  await watcher.put(service('billing'));
  await watcher.put(route('web', 'users'));
  const rec = recorder();
  await watcher.watch(rec.listener);
  const idle = await createNatsBus({ servers: ns.url, bucketPrefix: 'outage', reconnectTimeWait: 100 });
  buses.push(idle);
  const disconnects = listen(busChannels.disconnect);
  const reconnects = listen(busChannels.reconnect);
  const resyncs = listen(busChannels.resync);
  try {
    await ns.stop();
    await waitUntil('the disconnect event', () => disconnects.events.length > 0);
    const callsBefore = rec.states.length;
    const state = rec.last;
    assert.deepEqual([...state.get('Service').keys()].sort(), ['billing', 'users']);
    assert.deepEqual([...state.get('Route').keys()], ['web']);

    const t0 = Date.now();
    await assert.rejects(watcher.put(service('users', 1234)), (err: unknown) => {
      assert.ok(err instanceof BusUnavailableError);
      assert.equal(err.code, 'PORTICO_ERR_BUS_UNAVAILABLE');
      assert.equal(err.status, 503);
      return true;
    });
    await assert.rejects(watcher.delete('Service', 'users'), BusUnavailableError);
    await assert.rejects(watcher.get('Service', 'users'), BusUnavailableError);
    await waitUntil('the idle bus to see the outage', () => disconnects.events.length >= 2);
    await assert.rejects(
      idle.watch(() => {}),
      BusUnavailableError,
      'a first watch needs NATS: no last-known state',
    );
    assert.ok(Date.now() - t0 < 1000, 'calls fail fast while disconnected');

    // Another client changes the store while the watcher is cut off: a server on another port, same store.
    const side = await startNatsServer({ storeDir: ns.storeDir });
    servers.push(side);
    const other = await createNatsBus({ servers: side.url, bucketPrefix: 'outage' });
    await other.put(service('users', 9090));
    assert.equal(await other.delete('Route', 'web'), true);
    await other.put(service('accounts'));
    await other.close();
    await side.stop();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rec.states.length, callsBefore, 'no state change while NATS is away');
    assert.deepEqual([...rec.last.get('Service').keys()].sort(), ['billing', 'users'], 'the state was never emptied');

    await ns.restart();
    await waitUntil('the resync', () => resyncs.events.length > 0, { timeoutMs: 10_000 });
    assert.ok(reconnects.events.length > 0);
    await waitUntil('the resynced state', () => rec.states.length > callsBefore);
    const after = rec.last;
    assert.deepEqual([...after.get('Service').keys()].sort(), ['accounts', 'billing', 'users']);
    assert.deepEqual(ports(after.get('Service').get('users')), [9090]);
    assert.equal(after.get('Route').has('web'), false, 'a delete made while away is picked up');
    assert.ok(after.revision > state.revision);
    assert.equal(
      after.get('Service').get('billing'),
      state.get('Service').get('billing'),
      'unchanged kinds reuse values',
    );

    // Live again: writes work and the re-made watch sees them.
    await watcher.put(service('billing', 4242));
    await waitUntil('a live change after resync', () => ports(rec.last.get('Service').get('billing'))[0] === 4242);
  } finally {
    disconnects.done();
    reconnects.done();
    resyncs.done();
  }
});

test('a quick server restart: the watcher resyncs and keeps following changes', async () => {
  const ns = await startNatsServer();
  servers.push(ns);
  const watcher = await createNatsBus({ servers: ns.url, bucketPrefix: 'bounce', reconnectTimeWait: 100 });
  const writer = await createNatsBus({ servers: ns.url, bucketPrefix: 'bounce', reconnectTimeWait: 100 });
  buses.push(watcher, writer);
  await writer.put(service('users'));
  const rec = recorder();
  await watcher.watch(rec.listener);
  const resyncs = listen(busChannels.resync);
  try {
    await ns.restart();
    await waitUntil('the resync', () => resyncs.events.length > 0, { timeoutMs: 10_000 });
    assert.deepEqual([...rec.last.get('Service').keys()], ['users'], 'data survived the restart');
    await waitUntil(
      'the writer to take a write after the restart',
      async () => {
        try {
          await writer.put(service('users', 5555));
          return true;
        } catch (err) {
          // The writer may still be reconnecting; it says so with a 503.
          assert.ok(err instanceof BusUnavailableError);
          return false;
        }
      },
      { everyMs: 50 },
    );
    await waitUntil('the change after the restart', () => ports(rec.last.get('Service').get('users'))[0] === 5555);
  } finally {
    resyncs.done();
  }
});

test('creating a bus with no server there fails with 503', async () => {
  const port = await freePort();
  await assert.rejects(createNatsBus({ servers: `nats://127.0.0.1:${port}` }), (err: unknown) => {
    assert.ok(err instanceof BusUnavailableError);
    assert.equal(err.status, 503);
    return true;
  });
});

test('NATS back with an empty store: the last known config stays, new writes apply on top', async () => {
  const first = await startNatsServer();
  const bus = await createNatsBus({ servers: first.url, bucketPrefix: 'wiped' });
  buses.push(bus);
  await bus.put(service('users'));
  const rec = recorder();
  await bus.watch(rec.listener);
  const errors = listen(busChannels.error);
  const resyncs = listen(busChannels.resync);
  await first.stop();
  // Same port, fresh store: a server that lost its data.
  const wiped = await startNatsServer({ port: first.port });
  servers.push(wiped);
  await waitUntil('the wiped-store warning', () =>
    errors.events.some((e) => /no config at all/.test((e.error as Error).message)),
  );
  assert.ok(rec.last.get('Service').has('users'), 'last known config kept');
  await bus.put(service('orders'));
  await waitUntil('the new write', () => rec.last.get('Service').has('orders') === true);
  assert.ok(rec.last.get('Service').has('users'));
  errors.done();
  resyncs.done();
});
