/** Eureka JSON without a server: full and delta payloads as Eureka serves them, the hashcode, instance rules. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyDelta,
  buildService,
  type EurekaInstance,
  parseApplications,
  parseDelta,
  reconcileHashcode,
  toEndpoint,
} from '../src/sources/eureka/model.ts';

/** An instance as Eureka 2.x serves it in JSON (fields we don't read trimmed). */
function instance(app: string, id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instanceId: id,
    hostName: `${id}.local`,
    app,
    ipAddr: '10.0.0.1',
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 8443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    metadata: { '@class': 'java.util.Collections$EmptyMap' },
    vipAddress: app.toLowerCase(),
    lastDirtyTimestamp: '1700000000000',
    ...over,
  };
}

function doc(apps: Record<string, unknown>, hashcode: string, instancesOf: (a: string) => unknown) {
  return {
    applications: {
      versions__delta: '1',
      apps__hashcode: hashcode,
      application: Object.keys(apps).map((name) => ({ name, instance: instancesOf(name) })),
    },
  };
}

function inst(app: string, id: string, status = 'UP'): EurekaInstance {
  return { id, app, status, raw: instance(app, id, { status }) };
}

describe('reconcileHashcode', () => {
  test('counts instances per status, statuses in Java String order, each as <STATUS>_<n>_', () => {
    const apps = parseApplications(
      doc({ ORDERS: 1, USERS: 1 }, '', (a) =>
        a === 'ORDERS'
          ? [instance(a, 'o1'), instance(a, 'o2', { status: 'DOWN' }), instance(a, 'o3')]
          : [instance(a, 'u1'), instance(a, 'u2', { status: 'OUT_OF_SERVICE' })],
      ),
    ).apps;
    assert.equal(reconcileHashcode(apps), 'DOWN_1_OUT_OF_SERVICE_1_UP_3_');
  });

  test('an empty registry hashes to the empty string', () => {
    assert.equal(reconcileHashcode(new Map()), '');
  });

  test('orders by code unit like a TreeMap, not by locale (upper case before lower, "_" after letters)', () => {
    const apps = new Map([
      [
        'A',
        new Map([
          ['1', inst('A', '1', 'UP')],
          ['2', inst('A', '2', 'UP_X')],
          ['3', inst('A', '3', 'Up')],
        ]),
      ],
    ]);
    assert.equal(reconcileHashcode(apps), 'UP_1_UP_X_1_Up_1_');
  });
});

describe('parseApplications', () => {
  test('reads the array form, keyed by upper-case app and instanceId, and keeps the served hashcode', () => {
    const parsed = parseApplications(doc({ orders: 1 }, 'UP_2_', (a) => [instance(a, 'o1'), instance(a, 'o2')]));
    assert.deepEqual([...parsed.apps.keys()], ['ORDERS']);
    assert.deepEqual([...parsed.apps.get('ORDERS')!.keys()], ['o1', 'o2']);
    assert.equal(parsed.hashcode, 'UP_2_');
    assert.equal(reconcileHashcode(parsed.apps), parsed.hashcode);
  });

  test('older servers: one application and one instance as objects, not arrays', () => {
    const payload = {
      applications: {
        apps__hashcode: 'UP_1_',
        application: { name: 'ORDERS', instance: instance('ORDERS', 'o1') },
      },
    };
    const parsed = parseApplications(payload);
    assert.equal(parsed.apps.get('ORDERS')?.size, 1);
    assert.equal(reconcileHashcode(parsed.apps), 'UP_1_');
  });

  test('an empty registry as older servers send it (no application key, or an empty string)', () => {
    assert.equal(parseApplications({ applications: { apps__hashcode: '' } }).apps.size, 0);
    assert.equal(parseApplications({ applications: { application: '' } }).apps.size, 0);
  });

  test('falls back to hostName as the id (pre-instanceId servers)', () => {
    const raw = instance('ORDERS', 'x');
    delete raw.instanceId;
    const parsed = parseApplications(doc({ ORDERS: 1 }, '', () => [raw]));
    assert.deepEqual([...parsed.apps.get('ORDERS')!.keys()], ['x.local']);
  });

  test('an instance with no id at all is reported, the others are kept', () => {
    const bad = instance('ORDERS', 'x');
    delete bad.instanceId;
    delete bad.hostName;
    const parsed = parseApplications(doc({ ORDERS: 1 }, '', (a) => [bad, instance(a, 'o1')]));
    assert.equal(parsed.invalid.length, 1);
    assert.match(parsed.invalid[0]!.reason, /no instanceId/);
    assert.equal(parsed.apps.get('ORDERS')?.size, 1);
  });

  test('rejects a document that is not an applications document', () => {
    assert.throws(() => parseApplications({ error: 'nope' }), /applications/);
    assert.throws(() => parseApplications('<applications/>'), /applications/);
  });
});

describe('applyDelta', () => {
  const base = () =>
    parseApplications(doc({ ORDERS: 1, USERS: 1 }, '', (a) => [instance(a, `${a}-1`), instance(a, `${a}-2`)])).apps;

  test('ADDED adds, MODIFIED replaces, DELETED removes; the result matches the server hashcode', () => {
    const apps = base();
    const delta = parseDelta({
      applications: {
        apps__hashcode: 'OUT_OF_SERVICE_1_UP_3_',
        application: [
          {
            name: 'ORDERS',
            instance: [
              { ...instance('ORDERS', 'ORDERS-3'), actionType: 'ADDED' },
              { ...instance('ORDERS', 'ORDERS-1', { status: 'OUT_OF_SERVICE' }), actionType: 'MODIFIED' },
            ],
          },
          { name: 'USERS', instance: { ...instance('USERS', 'USERS-2'), actionType: 'DELETED' } },
        ],
      },
    });
    const touched = applyDelta(apps, delta.entries);
    assert.deepEqual([...touched].sort(), ['ORDERS', 'USERS']);
    assert.deepEqual([...apps.get('ORDERS')!.keys()].sort(), ['ORDERS-1', 'ORDERS-2', 'ORDERS-3']);
    assert.equal(apps.get('ORDERS')!.get('ORDERS-1')!.status, 'OUT_OF_SERVICE');
    assert.deepEqual([...apps.get('USERS')!.keys()], ['USERS-1']);
    assert.equal(reconcileHashcode(apps), delta.hashcode);
  });

  test('deleting the last instance drops the app; re-applying the same delta changes nothing', () => {
    const apps = base();
    const entries = parseDelta({
      applications: {
        apps__hashcode: 'UP_2_',
        application: {
          name: 'USERS',
          instance: [
            { ...instance('USERS', 'USERS-1'), actionType: 'DELETED' },
            { ...instance('USERS', 'USERS-2'), actionType: 'DELETED' },
          ],
        },
      },
    }).entries;
    applyDelta(apps, entries);
    assert.equal(apps.has('USERS'), false);
    applyDelta(apps, entries);
    assert.deepEqual([...apps.keys()], ['ORDERS']);
    assert.equal(reconcileHashcode(apps), 'UP_2_');
  });

  test('a missed delta shows as a hashcode mismatch (what triggers the full fetch)', () => {
    const apps = base();
    // The server also removed ORDERS-2 in a delta we never saw; this one only adds USERS-3.
    const delta = parseDelta({
      applications: {
        apps__hashcode: 'UP_4_',
        application: [{ name: 'USERS', instance: [{ ...instance('USERS', 'USERS-3'), actionType: 'ADDED' }] }],
      },
    });
    applyDelta(apps, delta.entries);
    assert.notEqual(reconcileHashcode(apps), delta.hashcode);
  });

  test('an empty delta (nothing changed) leaves the copy as it was', () => {
    const apps = base();
    const delta = parseDelta({ applications: { versions__delta: '7', apps__hashcode: 'UP_4_', application: [] } });
    assert.equal(applyDelta(apps, delta.entries).size, 0);
    assert.equal(reconcileHashcode(apps), delta.hashcode);
  });

  test('an entry with an unknown actionType is reported and left out', () => {
    const delta = parseDelta({
      applications: { application: [{ name: 'A', instance: [{ ...instance('A', 'a1'), actionType: 'RENAMED' }] }] },
    });
    assert.equal(delta.entries.length, 0);
    assert.match(delta.invalid[0]!.reason, /actionType/);
  });
});

describe('toEndpoint', () => {
  const ep = (over: Record<string, unknown>, status = 'UP') => {
    const raw = instance('ORDERS', 'o1', { status, ...over });
    return toEndpoint({ id: 'o1', app: 'ORDERS', status, raw });
  };

  test('hostName (what Spring Cloud clients dial) and the enabled plain port; UP is healthy; weight 100; @class is not metadata', () => {
    assert.deepEqual(ep({}), {
      ok: true,
      endpoint: { address: 'o1.local', port: 8080, weight: 100, healthy: true, protocol: 'http', metadata: {} },
    });
  });

  test('port number and flag as strings or booleans, or a bare number', () => {
    const r1 = ep({ port: { $: '9090', '@enabled': true } });
    assert.equal(r1.ok && r1.endpoint.port, 9090);
    const r2 = ep({ port: 7070 });
    assert.equal(r2.ok && r2.endpoint.port, 7070);
  });

  test('secure port when the plain one is disabled, marked scheme=https', () => {
    const r = ep({ port: { $: 8080, '@enabled': 'false' }, securePort: { $: 8443, '@enabled': 'true' } });
    assert.ok(r.ok);
    assert.equal(r.endpoint.port, 8443);
    assert.equal(r.endpoint.metadata.scheme, 'https');
  });

  test('ipAddr when there is no hostName', () => {
    const r = ep({ hostName: '' });
    assert.equal(r.ok && r.endpoint.address, '10.0.0.1');
  });

  test('DOWN, OUT_OF_SERVICE, STARTING and UNKNOWN are published unhealthy', () => {
    for (const status of ['DOWN', 'OUT_OF_SERVICE', 'STARTING', 'UNKNOWN']) {
      const r = ep({}, status);
      assert.equal(r.ok && r.endpoint.healthy, false, status);
    }
  });

  test('an OUT_OF_SERVICE override counts even if the status still says UP', () => {
    const r = ep({ overriddenStatus: 'OUT_OF_SERVICE' });
    assert.equal(r.ok && r.endpoint.healthy, false);
    // Older servers spell it in lower case.
    const old = ep({ overriddenStatus: undefined, overriddenstatus: 'OUT_OF_SERVICE' });
    assert.equal(old.ok && old.endpoint.healthy, false);
  });

  test('weight metadata x100 (fractions rounded); zone from metadata, else the availability zone', () => {
    const r = ep({ metadata: { weight: '5', zone: 'z1', version: 2 } });
    assert.ok(r.ok);
    assert.equal(r.endpoint.weight, 500);
    assert.equal(r.endpoint.zone, 'z1');
    assert.deepEqual(r.endpoint.metadata, { weight: '5', zone: 'z1', version: '2' });
    const half = ep({ metadata: { weight: '0.5' } });
    assert.equal(half.ok && half.endpoint.weight, 50);
    const aws = ep({
      dataCenterInfo: {
        '@class': 'com.netflix.appinfo.AmazonInfo',
        name: 'Amazon',
        metadata: { 'availability-zone': 'us-east-1a' },
      },
    });
    assert.equal(aws.ok && aws.endpoint.zone, 'us-east-1a');
  });

  test('malformed: bad port, no enabled port, garbage weight, no address, metadata not an object', () => {
    const reasons = [
      ep({ port: { $: 70000, '@enabled': 'true' } }),
      ep({ port: { $: 'abc', '@enabled': 'true' } }),
      ep({ port: { $: 8080, '@enabled': 'false' } }),
      ep({ metadata: { weight: 'heavy' } }),
      ep({ metadata: { weight: '-1' } }),
      ep({ ipAddr: '', hostName: '' }),
      ep({ metadata: 'x' }),
    ].map((r) => (r.ok ? 'ok' : r.reason));
    assert.match(reasons[0]!, /bad port 70000/);
    assert.match(reasons[1]!, /bad port "abc"/);
    assert.match(reasons[2]!, /neither port nor securePort/);
    assert.match(reasons[3]!, /bad weight/);
    assert.match(reasons[4]!, /bad weight/);
    assert.match(reasons[5]!, /no ipAddr/);
    assert.match(reasons[6]!, /metadata/);
  });
});

describe('buildService', () => {
  test('lower-case service name; a bad instance is skipped with its reason, the rest kept', () => {
    const apps = parseApplications(
      doc({ ORDERS: 1 }, '', (a) => [
        instance(a, 'o2', { hostName: '10.0.0.2' }),
        instance(a, 'o1', { port: { $: 0, '@enabled': 'true' } }),
        instance(a, 'o3', { hostName: '10.0.0.3', status: 'DOWN' }),
      ]),
    ).apps;
    const built = buildService('ORDERS', apps.get('ORDERS')!);
    assert.equal(built.service.name, 'orders');
    assert.deepEqual(
      built.service.endpoints.map((e) => [e.address, e.healthy]),
      [
        ['10.0.0.2', true],
        ['10.0.0.3', false],
      ],
    );
    assert.equal(built.skipped.length, 1);
    assert.match(built.skipped[0]!.reason, /instance o1: bad port 0/);
    assert.match(built.skipped[0]!.raw, /"instanceId":"o1"/);
  });
});
