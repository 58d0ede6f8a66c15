/** The Consul stand-in against Consul's documented HTTP API semantics (shapes, blocking queries, filters, ACLs). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ConsulStandIn, startConsulStandIn } from '../src/index.ts';

interface Reply {
  status: number;
  index: number;
  text: string;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the wire, inspected field by field in assertions
  body: any;
  ms: number;
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const reply: Reply = {
    status: res.status,
    index: Number(res.headers.get('x-consul-index') ?? Number.NaN),
    text,
    headers: res.headers,
    body: res.headers.get('content-type')?.startsWith('application/json') && text !== '' ? JSON.parse(text) : text,
    ms: performance.now() - started,
  };
  return reply;
}

describe('Consul stand-in', () => {
  let consul: ConsulStandIn;
  const get = (path: string, headers?: Record<string, string>) => call(consul.url, 'GET', path, undefined, headers);
  const put = (path: string, body?: unknown) => call(consul.url, 'PUT', path, body);
  const register = async (def: Record<string, unknown>) => {
    const r = await put('/v1/agent/service/register', def);
    assert.equal(r.status, 200, r.text);
  };

  before(async () => {
    consul = await startConsulStandIn();
  });
  after(() => consul.stop());

  test('a registered service shows in the catalog and health views with Consul shapes and headers', async () => {
    await register({
      ID: 'web-1',
      Name: 'web',
      Tags: ['v1', 'primary'],
      Address: '10.0.0.1',
      Port: 8080,
      Meta: { version: '1.2' },
      Weights: { Passing: 3, Warning: 1 },
      Check: { TTL: '30s', Status: 'passing' },
    });
    await register({ ID: 'web-2', Name: 'web', Tags: ['v1'], Port: 8081, Check: { TTL: '30s' } });

    const services = await get('/v1/catalog/services');
    assert.equal(services.status, 200);
    assert.deepEqual(services.body.web, ['primary', 'v1']);
    assert.deepEqual(services.body.consul, [], 'a server node lists the consul service');
    assert.equal(services.headers.get('x-consul-knownleader'), 'true');
    assert.equal(services.headers.get('x-consul-lastcontact'), '0');
    assert.ok(services.index >= 1);

    const health = await get('/v1/health/service/web');
    assert.equal(health.body.length, 2);
    const [one, two] = health.body;
    assert.equal(one.Service.ID, 'web-1');
    assert.equal(one.Service.Service, 'web');
    assert.equal(one.Service.Address, '10.0.0.1');
    assert.deepEqual(one.Service.Weights, { Passing: 3, Warning: 1 });
    assert.deepEqual(one.Service.Meta, { version: '1.2' });
    assert.equal(one.Node.Address, '127.0.0.1');
    assert.equal(one.Node.Datacenter, 'dc1');
    assert.deepEqual(
      one.Checks.map((c: { CheckID: string; Status: string }) => [c.CheckID, c.Status]),
      [
        ['serfHealth', 'passing'],
        ['service:web-1', 'passing'],
      ],
    );
    assert.equal(two.Service.Address, '', 'no address of its own: clients fall back to Node.Address');
    assert.deepEqual(two.Service.Weights, { Passing: 1, Warning: 1 }, 'default weights');
    assert.equal(two.Checks[1].Status, 'critical', 'a check without Status starts critical');
    assert.equal(two.Checks[1].Name, "Service 'web' check");

    const catalog = await get('/v1/catalog/service/web');
    assert.equal(catalog.body.length, 2);
    assert.equal(catalog.body[0].ServiceID, 'web-1');
    assert.equal(catalog.body[0].ServicePort, 8080);
    assert.equal(catalog.body[0].Address, '127.0.0.1');
    assert.equal(catalog.index, health.index, 'both views of one service share its index');
  });

  test('?passing, repeatable ?tag, TTL check updates and maintenance mode filter instances', async () => {
    const ids = async (q: string) =>
      (await get(`/v1/health/service/web${q}`)).body.map((e: { Service: { ID: string } }) => e.Service.ID);
    assert.deepEqual(await ids('?passing'), ['web-1']);
    assert.deepEqual(await ids('?passing=false'), ['web-1', 'web-2']);
    assert.equal((await get('/v1/health/service/web?passing=maybe')).status, 400);
    assert.deepEqual(await ids('?tag=v1'), ['web-1', 'web-2']);
    assert.deepEqual(await ids('?tag=v1&tag=primary'), ['web-1'], 'several tags: all must match');
    assert.deepEqual(await ids('?tag=nope'), []);

    assert.equal((await put('/v1/agent/check/pass/service:web-2?note=ok')).status, 200);
    assert.deepEqual(await ids('?passing'), ['web-1', 'web-2']);
    assert.equal((await put('/v1/agent/check/warn/service:web-2')).status, 200);
    assert.deepEqual(await ids('?passing'), ['web-1'], 'warning is not passing');
    const updated = await put('/v1/agent/check/update/service:web-2', { Status: 'passing', Output: 'fine' });
    assert.equal(updated.status, 200);
    assert.deepEqual(await ids('?passing'), ['web-1', 'web-2']);
    assert.equal((await put('/v1/agent/check/fail/nope')).status, 404);

    assert.equal((await put('/v1/agent/service/maintenance/web-1')).text, 'Missing value for enable');
    assert.equal((await put('/v1/agent/service/maintenance/web-1?enable=true&reason=deploy')).status, 200);
    assert.deepEqual(await ids('?passing'), ['web-2']);
    const maint = (await get('/v1/health/service/web')).body[0].Checks.find(
      (c: { CheckID: string }) => c.CheckID === '_service_maintenance:web-1',
    );
    assert.equal(maint.Status, 'critical');
    assert.equal(maint.Notes, 'deploy');
    assert.equal((await put('/v1/agent/service/maintenance/web-1?enable=false')).status, 200);
    assert.deepEqual(await ids('?passing'), ['web-1', 'web-2']);
    assert.equal((await put('/v1/agent/service/maintenance/ghost?enable=true')).status, 404);
  });

  test('several checks are named service:<id>:<n>; a TTL not refreshed goes critical', async () => {
    await register({
      ID: 'ttl-1',
      Name: 'ttl',
      Port: 9000,
      Checks: [
        { TTL: '30s', Status: 'passing' },
        { TTL: '150ms', Status: 'passing' },
      ],
    });
    const checks = () =>
      get('/v1/health/service/ttl').then((r) =>
        r.body[0].Checks.map((c: { CheckID: string; Status: string; Output: string }) => [c.CheckID, c.Status]),
      );
    assert.deepEqual((await checks()).slice(1), [
      ['service:ttl-1:1', 'passing'],
      ['service:ttl-1:2', 'passing'],
    ]);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual((await checks())[2], ['service:ttl-1:2', 'critical']);
    await put('/v1/agent/service/deregister/ttl-1');
  });

  test('registration is validated as Consul validates it', async () => {
    assert.deepEqual(
      [
        (await put('/v1/agent/service/register', { Port: 1 })).status,
        (await put('/v1/agent/service/register', { Port: 1 })).text,
      ],
      [400, 'Missing service name'],
    );
    const badWeight = await put('/v1/agent/service/register', { Name: 'x', Weights: { Passing: 0, Warning: 1 } });
    assert.equal(badWeight.text, 'Invalid Weights: Passing must be greater than 0');
    const badMeta = await put('/v1/agent/service/register', { Name: 'x', Meta: { 'consul-x': 'y' } });
    assert.match(badMeta.text, /^Invalid Service Meta: .*reserved/);
    const badStatus = await put('/v1/agent/service/register', { Name: 'x', Check: { TTL: '1s', Status: 'up' } });
    assert.equal(badStatus.status, 400);
    const http = await put('/v1/agent/service/register', { Name: 'x', Check: { HTTP: 'http://x', Interval: '1s' } });
    assert.equal(http.status, 400, 'the stand-in only runs TTL checks');
    assert.equal(
      (await put('/v1/agent/service/register', { Name: 'x', Address: '0.0.0.0' })).text,
      'Invalid service address',
    );
    assert.equal((await get('/v1/agent/service/register')).status, 405);
    assert.equal((await get('/v1/catalog/services?index=abc')).text, 'Invalid index');
    assert.equal((await get('/v1/catalog/services?index=1&wait=soon')).text, 'Invalid wait time');
    assert.equal((await get('/v1/catalog/services')).body.x, undefined, 'nothing rejected was registered');
  });

  test('blocking: index 0 or behind returns at once; the current index waits for a change to that view', async () => {
    const now = await get('/v1/health/service/web');
    const zero = await get('/v1/health/service/web?index=0&wait=5s');
    assert.ok(zero.ms < 500, `index=0 answered in ${zero.ms} ms`);
    const behind = await get(`/v1/health/service/web?index=${now.index - 1}&wait=5s`);
    assert.ok(behind.ms < 500, `an older index answered in ${behind.ms} ms`);
    assert.equal(behind.index, now.index);

    const pending = get(`/v1/health/service/web?index=${now.index}&wait=5s`);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    // A write to another service moves the Raft index but not this view's: the query keeps blocking.
    await register({ ID: 'other-1', Name: 'other', Port: 1 });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(settled, false, 'woken by an unrelated write');
    const catalogNow = await get('/v1/catalog/services');
    assert.ok(catalogNow.index > now.index, 'the services list moved');

    await register({ ID: 'web-3', Name: 'web', Port: 8082, Check: { TTL: '30s', Status: 'passing' } });
    const woken = await pending;
    assert.ok(woken.index > now.index);
    assert.ok(woken.ms < 2000, `woken after ${woken.ms} ms`);
    assert.ok(woken.body.some((e: { Service: { ID: string } }) => e.Service.ID === 'web-3'));
  });

  test('blocking: with no change the query returns after wait (plus at most wait/16) with the same index', async () => {
    const now = await get('/v1/catalog/service/web');
    const timed = await get(`/v1/catalog/service/web?index=${now.index}&wait=300ms`);
    assert.equal(timed.status, 200);
    assert.equal(timed.index, now.index);
    assert.ok(timed.ms >= 290 && timed.ms < 300 + 300 / 16 + 250, `returned after ${timed.ms} ms`);
    const ahead = await get(`/v1/catalog/services?index=${consul.index() + 100}&wait=200ms`);
    assert.ok(ahead.ms >= 190, 'an index ahead of the server blocks until wait, as Consul does');
    assert.ok(ahead.index <= consul.index(), 'and answers the lower, current index (the client must reset)');
  });

  test('indexes only move forward, not on idempotent writes; deregistration moves the service and the list', async () => {
    const def = { ID: 'mono-1', Name: 'mono', Port: 7000, Weights: { Passing: 2, Warning: 1 } };
    await register(def);
    const a = await get('/v1/health/service/mono');
    await register(def);
    const b = await get('/v1/health/service/mono');
    assert.equal(b.index, a.index, 'the same registration again is not a change');
    await register({ ...def, Weights: { Passing: 5, Warning: 1 } });
    const c = await get('/v1/health/service/mono');
    assert.ok(c.index > b.index);
    assert.equal(c.body[0].Service.Weights.Passing, 5);
    const listBefore = await get('/v1/catalog/services');
    await put('/v1/agent/service/deregister/mono-1');
    const d = await get('/v1/health/service/mono');
    const listAfter = await get('/v1/catalog/services');
    assert.deepEqual(d.body, []);
    assert.ok(d.index > c.index, 'the empty view still has an index past the last one');
    assert.ok(listAfter.index > listBefore.index);
    assert.equal(listAfter.body.mono, undefined);
    assert.equal((await put('/v1/agent/service/deregister/mono-1')).status, 200, 'unknown id: no action');
  });

  test('restart keeps state and indexes (an outage); resetIndexes makes them go backwards', async () => {
    const before = await get('/v1/health/service/web');
    const pending = get(`/v1/health/service/web?index=${before.index}&wait=10s`).then(
      () => 'answered',
      () => 'connection closed',
    );
    await consul.restart();
    assert.equal(await pending, 'connection closed', 'a blocked query ends with the outage');
    const kept = await get('/v1/health/service/web');
    assert.equal(kept.index, before.index);
    assert.deepEqual(kept.body, before.body);

    await consul.restart({ resetIndexes: true });
    const reset = await get('/v1/health/service/web');
    assert.ok(reset.index < before.index, `index ${reset.index} after reset, ${before.index} before`);
    assert.ok(reset.index >= 1);
    assert.deepEqual(
      reset.body.map((e: { Service: { ID: string }; Checks: { Status: string }[] }) => [
        e.Service.ID,
        e.Checks[1]!.Status,
      ]),
      before.body.map((e: { Service: { ID: string }; Checks: { Status: string }[] }) => [
        e.Service.ID,
        e.Checks[1]!.Status,
      ]),
      'the agent re-synced the same services and check states',
    );
  });
});

describe('Consul stand-in: ACLs and datacenters', () => {
  let dc1: ConsulStandIn;
  let dc2: ConsulStandIn;
  before(async () => {
    dc1 = await startConsulStandIn({ token: 'root-token' });
    dc2 = await startConsulStandIn({ datacenter: 'dc2', join: dc1, nodeAddress: '127.0.0.2' });
  });
  after(async () => {
    await dc1.stop();
    await dc2.stop();
  });

  test('with a token configured: no token reads an empty, ACL-filtered answer and may not write', async () => {
    const none = await call(dc1.url, 'GET', '/v1/catalog/services');
    assert.deepEqual([none.status, none.text], [200, '{}']);
    assert.equal(none.headers.get('x-consul-results-filtered-by-acls'), 'true');
    const wrong = await call(dc1.url, 'GET', '/v1/catalog/services', undefined, { 'X-Consul-Token': 'nope' });
    assert.deepEqual([wrong.status, wrong.text], [403, 'ACL not found']);
    const write = await call(dc1.url, 'PUT', '/v1/agent/service/register', { Name: 'a', Port: 1 });
    assert.equal(write.status, 403);
    for (const ok of [
      await call(dc1.url, 'GET', '/v1/catalog/services', undefined, { 'X-Consul-Token': 'root-token' }),
      await call(dc1.url, 'GET', '/v1/catalog/services?token=root-token'),
      await call(dc1.url, 'GET', '/v1/catalog/services', undefined, { Authorization: 'Bearer root-token' }),
    ])
      assert.equal(ok.status, 200);
  });

  test('?dc reaches a joined datacenter; an unknown or unreachable one is "No path to datacenter"', async () => {
    const reg = await call(dc2.url, 'PUT', '/v1/agent/service/register', { ID: 'api-1', Name: 'api', Port: 9 });
    assert.equal(reg.status, 200);
    const auth = { 'X-Consul-Token': 'root-token' };
    const local = await call(dc1.url, 'GET', '/v1/catalog/services', undefined, auth);
    assert.equal(local.body.api, undefined);
    const remote = await call(dc1.url, 'GET', '/v1/health/service/api?dc=dc2', undefined, auth);
    assert.equal(remote.status, 200);
    assert.equal(remote.body[0].Node.Datacenter, 'dc2');
    assert.equal(remote.body[0].Node.Address, '127.0.0.2');
    const dcs = await call(dc1.url, 'GET', '/v1/catalog/datacenters', undefined, auth);
    assert.deepEqual(dcs.body, ['dc1', 'dc2']);
    const unknown = await call(dc1.url, 'GET', '/v1/catalog/services?dc=dc9', undefined, auth);
    assert.deepEqual([unknown.status, unknown.text], [500, 'No path to datacenter']);
    await dc2.stop();
    const away = await call(dc1.url, 'GET', '/v1/health/service/api?dc=dc2', undefined, auth);
    assert.deepEqual([away.status, away.text], [500, 'No path to datacenter']);
  });
});
