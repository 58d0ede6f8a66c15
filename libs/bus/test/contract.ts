/** The contract every ConfigBus implementation passes; run by memory-bus.test.ts and nats-bus.int.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigInvalidError, type Service } from '@portico/config';
import { waitUntil } from '@portico/testkit';
import { BusClosedError, type ConfigBus } from '../src/index.ts';
import { ports, recorder, route, service } from './helpers.ts';

/** `open()` gives a fresh, empty bus each time (for NATS: a new bucket prefix on the shared server). */
export function busContract(label: string, open: BusOpener): void {
  test(`${label}: put, get, list and delete`, async () => {
    const bus = await open();
    try {
      const before = Date.now();
      const put = await bus.put(service('users'));
      assert.equal(put.changed, true);
      assert.equal(put.resource.metadata.name, 'users');
      assert.match(put.resource.metadata.resourceVersion ?? '', /^[1-9][0-9]*$/);
      const created = Date.parse(put.resource.metadata.creationTimestamp ?? '');
      assert.ok(created >= before - 1000 && created <= Date.now() + 1000, 'creationTimestamp is now, ISO');

      const got = await bus.get('Service', 'users');
      assert.ok(got);
      assert.equal(got.spec.protocol, 'http', 'defaults are filled in');
      assert.deepEqual(got.spec.endpoints, [{ address: '127.0.0.1', port: 80, weight: 1 }]);
      assert.equal(got.metadata.resourceVersion, put.resource.metadata.resourceVersion);
      assert.equal(got.metadata.creationTimestamp, put.resource.metadata.creationTimestamp);
      assert.equal(await bus.get('Service', 'nobody'), undefined);
      assert.equal(await bus.get('Route', 'users'), undefined, 'kinds are separate');

      await bus.put(service('accounts'));
      await bus.put(route('web', 'users'));
      assert.deepEqual(
        (await bus.list('Service')).map((s) => s.metadata.name),
        ['accounts', 'users'],
      );
      assert.deepEqual(
        (await bus.list('Route')).map((r) => r.metadata.name),
        ['web'],
      );
      assert.deepEqual(await bus.list('Certificate'), []);

      assert.equal(await bus.delete('Service', 'users'), true);
      assert.equal(await bus.delete('Service', 'users'), false);
      assert.equal(await bus.delete('Route', 'nope'), false);
      assert.equal(await bus.get('Service', 'users'), undefined);
      assert.deepEqual(
        (await bus.list('Service')).map((s) => s.metadata.name),
        ['accounts'],
      );

      // A deleted name can be written again, as a new resource.
      const again = await bus.put(service('users', 81));
      assert.equal(again.changed, true);
      assert.deepEqual(ports(await bus.get('Service', 'users')), [81]);
    } finally {
      await bus.close();
    }
  });

  test(`${label}: put is idempotent and keeps creationTimestamp`, async () => {
    const bus = await open();
    try {
      const first = await bus.put(service('users'));
      const same = await bus.put(service('users'));
      assert.equal(same.changed, false);
      assert.equal(same.resource.metadata.resourceVersion, first.resource.metadata.resourceVersion);

      // Spelling out defaults and passing bus-owned metadata is still "the same".
      const explicit = service('users');
      explicit.spec.protocol = 'http';
      explicit.spec.endpoints[0]!.weight = 1;
      explicit.metadata.resourceVersion = '999';
      explicit.metadata.creationTimestamp = '2001-01-01T00:00:00.000Z';
      assert.equal((await bus.put(explicit)).changed, false);

      await new Promise((r) => setTimeout(r, 5));
      const updated = await bus.put(service('users', 8080));
      assert.equal(updated.changed, true);
      assert.notEqual(updated.resource.metadata.resourceVersion, first.resource.metadata.resourceVersion);
      assert.equal(updated.resource.metadata.creationTimestamp, first.resource.metadata.creationTimestamp);
      const got = await bus.get('Service', 'users');
      assert.deepEqual(ports(got), [8080]);
      assert.equal(got?.metadata.creationTimestamp, first.resource.metadata.creationTimestamp);
      assert.equal(got?.metadata.resourceVersion, updated.resource.metadata.resourceVersion);
    } finally {
      await bus.close();
    }
  });

  test(`${label}: an invalid put is rejected with field paths and stores nothing`, async () => {
    const bus = await open();
    try {
      const bad = service('users', 0);
      await assert.rejects(bus.put(bad), (err: unknown) => {
        assert.ok(err instanceof ConfigInvalidError);
        assert.equal(err.code, 'PORTICO_ERR_CONFIG_INVALID');
        assert.equal(err.status, 400);
        assert.deepEqual(
          err.details.map((d) => d.path),
          ['spec.endpoints[0].port'],
        );
        return true;
      });
      const badName = { ...service('x'), metadata: { name: 'Not_A_Name' } } as Service;
      await assert.rejects(bus.put(badName), (err: unknown) => {
        assert.ok(err instanceof ConfigInvalidError);
        assert.equal(err.details[0]?.path, 'metadata.name');
        return true;
      });
      assert.deepEqual(await bus.list('Service'), []);
    } finally {
      await bus.close();
    }
  });

  test(`${label}: watch gets the initial state, then coalesced immutable states`, async () => {
    const bus = await open();
    const writer = await open.sameStore?.(bus);
    const w = writer ?? bus;
    try {
      await bus.put(service('users'));
      await bus.put(route('web', 'users'));
      const rec = recorder();
      const handle = await bus.watch(rec.listener);
      assert.equal(rec.states.length, 1, 'the first state is delivered before watch() resolves');
      const initial = rec.states[0]!;
      assert.deepEqual([...initial.get('Service').keys()], ['users']);
      assert.deepEqual([...initial.get('Route').keys()], ['web']);
      assert.equal(initial.get('Certificate').size, 0);
      assert.deepEqual(ports(initial.get('Service').get('users')), [80]);

      // A burst: four changes issued together.
      await Promise.all([
        w.put(service('accounts')),
        w.put(service('users', 9090)),
        w.put(route('api', 'accounts')),
        w.delete('Route', 'web'),
      ]);
      await waitUntil('the burst to arrive', () => {
        const s = rec.last;
        // The four writes race each other: wait for the last of them, whichever it is.
        const users = s.get('Service').get('users');
        return (
          s.get('Service').size === 2 &&
          s.get('Route').has('api') &&
          !s.get('Route').has('web') &&
          users !== undefined &&
          ports(users)[0] === 9090
        );
      });
      const calls = rec.states.length - 1;
      assert.ok(calls >= 1 && calls <= 4, `one call per coalesced batch, got ${calls} for 4 changes`);
      assert.deepEqual(ports(rec.last.get('Service').get('users')), [9090]);
      for (let i = 1; i < rec.states.length; i++) {
        assert.ok(rec.states[i]!.revision > rec.states[i - 1]!.revision, 'revision increases');
      }
      // Earlier states are untouched by later changes.
      assert.deepEqual([...initial.get('Route').keys()], ['web']);
      assert.deepEqual(ports(initial.get('Service').get('users')), [80]);
      assert.ok(Object.isFrozen(rec.last.get('Service').get('users')), 'resources in a state are frozen');

      // An idempotent put changes nothing, so no call; stop() ends the calls.
      const seen = rec.states.length;
      await w.put(service('accounts'));
      handle.stop();
      await w.put(service('late'));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rec.states.length, seen);
    } finally {
      await writer?.close();
      await bus.close();
    }
  });

  test(`${label}: a closed bus rejects calls`, async () => {
    const bus = await open();
    await bus.close();
    await assert.rejects(bus.get('Service', 'users'), BusClosedError);
    await assert.rejects(bus.put(service('users')), BusClosedError);
  });
}

export interface BusOpener {
  (): Promise<ConfigBus>;
  /** A second bus over the same store as `bus`, when the implementation has one (NATS); writes come from it. */
  sameStore?: (bus: ConfigBus) => Promise<ConfigBus>;
}
