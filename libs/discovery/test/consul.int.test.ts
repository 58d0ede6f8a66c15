/**
 * The Consul source against the Consul stand-in (@portico/testkit: Consul's HTTP API from its documentation; no
 * Consul agent can be obtained here). Node HTTP backends register through the stand-in's agent API, as services
 * register with their local agent.
 */
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type DiscoveredEndpoint, RegistrySpec } from '@portico/config';
import { type Backend, type ConsulStandIn, startConsulStandIn, startEchoBackend, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { consulSource } from '../src/sources/consul/consul-source.ts';
import { RecordingSink } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

function spec(input: Record<string, unknown>): SpecOf<'consul'> {
  return RegistrySpec.parse({ type: 'consul', wait: '5s', refreshInterval: '60s', ...input }) as SpecOf<'consul'>;
}

async function agent(consul: ConsulStandIn, path: string, body?: unknown, token?: string): Promise<void> {
  const res = await fetch(`${consul.url}${path}`, {
    method: 'PUT',
    headers: token ? { 'X-Consul-Token': token } : {},
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

const register = (consul: ConsulStandIn, def: Record<string, unknown>, token?: string) =>
  agent(consul, '/v1/agent/service/register', def, token);

function endpoints(sink: RecordingSink, name: string): DiscoveredEndpoint[] {
  return sink.services.get(name)?.endpoints ?? [];
}

function byPort(sink: RecordingSink, name: string, port: number): DiscoveredEndpoint | undefined {
  return endpoints(sink, name).find((e) => e.port === port);
}

const count = (sink: RecordingSink, type: string) => sink.calls.filter((c) => c.type === type).length;

/** A TCP relay in front of the stand-in: cut() drops the network path (Consul itself stays up), mend() restores it. */
async function startRelay(targetPort: number) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    mend: () => listen(port),
  };
}

describe('consul source', () => {
  let consul: ConsulStandIn;
  let b1: Backend;
  let b2: Backend;
  const sources: DiscoverySource[] = [];
  const start = async (input: Record<string, unknown>, target = consul) => {
    const sink = new RecordingSink();
    const source = consulSource({ name: 'consul', spec: spec({ addresses: [target.address], ...input }), sink });
    sources.push(source);
    await source.start();
    return { sink, source };
  };

  before(async () => {
    consul = await startConsulStandIn();
    b1 = await startEchoBackend('orders-1');
    b2 = await startEchoBackend('orders-2');
    await register(consul, {
      ID: 'orders-1',
      Name: 'orders',
      Address: '127.0.0.1',
      Port: b1.port,
      Tags: ['v1'],
      Meta: { version: '1.0', zone_hint: 'a' },
      Weights: { Passing: 2, Warning: 1 },
      Check: { TTL: '60s', Status: 'passing' },
    });
    // No address of its own: the node's address is used.
    await register(consul, { ID: 'orders-2', Name: 'orders', Port: b2.port, Check: { TTL: '60s', Status: 'passing' } });
    // Its TTL check never reported: critical, published as unhealthy.
    await register(consul, { ID: 'orders-3', Name: 'orders', Address: '127.0.0.3', Port: 7003, Check: { TTL: '60s' } });
    await register(consul, {
      ID: 'pay-1',
      Name: 'payments',
      Address: '127.0.0.1',
      Port: 9090,
      Meta: { protocol: 'grpc' },
    });
  });
  after(async () => {
    for (const s of sources) await s.stop();
    await consul.stop();
    await b1.close();
    await b2.close();
  });

  test('initial listing: every instance (unhealthy ones too), weights x100, Meta, address fallback, protocol', async () => {
    const { sink, source } = await start({});
    assert.equal(count(sink, 'snapshot'), 1);
    const orders = sink.services.get('orders');
    assert.ok(orders);
    assert.deepEqual(byPort(sink, 'orders', b1.port), {
      address: '127.0.0.1',
      port: b1.port,
      weight: 200,
      healthy: true,
      protocol: 'http',
      metadata: { version: '1.0', zone_hint: 'a' },
    });
    assert.equal(byPort(sink, 'orders', b2.port)?.address, '127.0.0.1', 'Node.Address');
    assert.equal(byPort(sink, 'orders', b2.port)?.weight, 100, 'default weight 1 -> 100');
    assert.equal(byPort(sink, 'orders', 7003)?.healthy, false);
    assert.equal(byPort(sink, 'payments', 9090)?.protocol, 'grpc');
    const health = await fetch(`${consul.url}/v1/health/service/orders`);
    assert.equal(orders.revision, health.headers.get('x-consul-index'), 'revision = X-Consul-Index');
    assert.ok(sink.services.has('consul'), "the Consul servers' own service is listed like any other");
    await source.stop();
  });

  test('register, weight change, unhealthy (fail, warn, maintenance), deregister: each reaches the sink', async () => {
    const { sink, source } = await start({});
    await register(consul, {
      ID: 'orders-4',
      Name: 'orders',
      Address: '127.0.0.4',
      Port: 7004,
      Check: { TTL: '60s', Status: 'passing' },
    });
    await waitUntil('orders-4 registered', () => byPort(sink, 'orders', 7004)?.healthy === true, WAIT);

    await register(consul, {
      ID: 'orders-1',
      Name: 'orders',
      Address: '127.0.0.1',
      Port: b1.port,
      Tags: ['v1'],
      Meta: { version: '1.0', zone_hint: 'a' },
      Weights: { Passing: 5, Warning: 1 },
      Check: { TTL: '60s' },
    });
    await waitUntil('orders-1 weight 5 -> 500', () => byPort(sink, 'orders', b1.port)?.weight === 500, WAIT);
    assert.equal(byPort(sink, 'orders', b1.port)?.healthy, true, 're-registration keeps the check state');

    await agent(consul, '/v1/agent/check/fail/service:orders-2');
    await waitUntil('orders-2 failing', () => byPort(sink, 'orders', b2.port)?.healthy === false, WAIT);
    await agent(consul, '/v1/agent/check/pass/service:orders-2');
    await waitUntil('orders-2 passing again', () => byPort(sink, 'orders', b2.port)?.healthy === true, WAIT);
    await agent(consul, '/v1/agent/check/warn/service:orders-2');
    await waitUntil('orders-2 warning is not routed', () => byPort(sink, 'orders', b2.port)?.healthy === false, WAIT);
    await agent(consul, '/v1/agent/check/pass/service:orders-2');
    await agent(consul, '/v1/agent/service/maintenance/orders-1?enable=true&reason=deploy');
    await waitUntil('orders-1 in maintenance', () => byPort(sink, 'orders', b1.port)?.healthy === false, WAIT);
    await agent(consul, '/v1/agent/service/maintenance/orders-1?enable=false');
    await waitUntil('orders-1 back from maintenance', () => byPort(sink, 'orders', b1.port)?.healthy === true, WAIT);

    await agent(consul, '/v1/agent/service/deregister/orders-4');
    await waitUntil('orders-4 deregistered', () => byPort(sink, 'orders', 7004) === undefined, WAIT);
    assert.equal(count(sink, 'snapshot'), 1, 'changes arrive as updates, not re-listings');
    assert.equal(count(sink, 'down'), 0);
    await source.stop();
  });

  test('a new service is picked up; one whose last instance leaves is removed', async () => {
    const { sink, source } = await start({});
    await register(consul, { ID: 'inv-1', Name: 'inventory', Address: '127.0.0.5', Port: 7005 });
    await waitUntil('inventory added', () => endpoints(sink, 'inventory').length === 1, WAIT);
    await agent(consul, '/v1/agent/service/deregister/inv-1');
    await waitUntil(
      'inventory removed',
      () => sink.calls.some((c) => c.type === 'remove' && c.name === 'inventory'),
      WAIT,
    );
    assert.equal(sink.services.has('inventory'), false);
    assert.ok(sink.services.has('orders'), 'the others stay');
    await source.stop();
  });

  test('malformed registrations are skipped (once each) and the rest keeps flowing', async () => {
    await register(consul, { ID: 'mixed-ok', Name: 'mixed', Address: '127.0.0.6', Port: 7006 });
    await register(consul, { ID: 'mixed-port', Name: 'mixed', Address: '127.0.0.6', Port: 0 });
    await register(consul, { ID: 'mixed-addr', Name: 'mixed', Address: 'not a host!', Port: 7007 });
    await register(consul, {
      ID: 'mixed-proto',
      Name: 'mixed',
      Address: '127.0.0.6',
      Port: 7008,
      Meta: { protocol: 'tcp' },
    });
    const { sink, source } = await start({ services: ['mixed'] });
    const skips = () => sink.calls.filter((c) => c.type === 'skipped' && c.service === 'mixed');
    assert.deepEqual(
      skips()
        .map((c) => (c.type === 'skipped' ? c.reason : ''))
        .sort(),
      [
        'instance mixed-addr: bad address "not a host!"',
        'instance mixed-port: bad port 0',
        'instance mixed-proto: unsupported protocol "tcp"',
      ],
    );
    assert.deepEqual(
      endpoints(sink, 'mixed').map((e) => e.port),
      [7006],
    );
    await register(consul, { ID: 'mixed-ok2', Name: 'mixed', Address: '127.0.0.6', Port: 7009 });
    await waitUntil('a good instance added next to the bad ones', () => endpoints(sink, 'mixed').length === 2, WAIT);
    assert.equal(skips().length, 3, 'a bad instance is reported once, not on every change');
    await source.stop();
    for (const id of ['mixed-ok', 'mixed-port', 'mixed-addr', 'mixed-proto', 'mixed-ok2'])
      await agent(consul, `/v1/agent/service/deregister/${id}`);
  });

  test('filters: service names, and tags (the service and each instance must carry all of them)', async () => {
    await register(consul, { ID: 'cat-1', Name: 'catalogue', Address: '127.0.0.7', Port: 7101, Tags: ['prod', 'eu'] });
    await register(consul, { ID: 'cat-2', Name: 'catalogue', Address: '127.0.0.7', Port: 7102, Tags: ['prod'] });
    await register(consul, { ID: 'dev-1', Name: 'devtool', Address: '127.0.0.7', Port: 7103, Tags: ['eu'] });
    const named = await start({ services: ['orders', 'nope'] });
    assert.deepEqual([...named.sink.services.keys()], ['orders']);

    const tagged = await start({ tags: ['prod', 'eu'] });
    assert.deepEqual([...tagged.sink.services.keys()], ['catalogue']);
    assert.deepEqual(
      endpoints(tagged.sink, 'catalogue').map((e) => e.port),
      [7101],
    );
    await register(consul, { ID: 'cat-2', Name: 'catalogue', Address: '127.0.0.7', Port: 7102, Tags: ['prod', 'eu'] });
    await waitUntil('cat-2 now carries both tags', () => endpoints(tagged.sink, 'catalogue').length === 2, WAIT);
    await register(consul, { ID: 'dev-1', Name: 'devtool', Address: '127.0.0.7', Port: 7103, Tags: ['eu', 'prod'] });
    await waitUntil('devtool gained the prod tag', () => tagged.sink.services.has('devtool'), WAIT);
    await named.source.stop();
    await tagged.source.stop();
  });

  test('registry stopped: down() once, nothing removed; back (indexes reset): snapshot, then changes flow', async () => {
    const { sink, source } = await start({ refreshInterval: '2s' });
    const before = JSON.stringify([...sink.services.entries()]);
    await consul.stop();
    await waitUntil('down() on outage', () => count(sink, 'down') === 1, WAIT);
    await new Promise((r) => setTimeout(r, 1_200)); // several retries
    assert.equal(count(sink, 'down'), 1, 'down() once per outage, not per retry');
    assert.equal(count(sink, 'remove'), 0);
    assert.equal(JSON.stringify([...sink.services.entries()]), before, 'the last known endpoints stay');
    assert.match(String((sink.calls.find((c) => c.type === 'down') as { error: Error }).error.message), /unreachable/);

    // The servers come back empty and the agent re-syncs: every index is lower than the source last saw.
    await consul.restart({ resetIndexes: true });
    await waitUntil('snapshot after restart', () => sink.connected, { timeoutMs: 8_000 });
    await register(consul, { ID: 'orders-9', Name: 'orders', Address: '127.0.0.9', Port: 7009 });
    await waitUntil('a change after the reset still flows', () => byPort(sink, 'orders', 7009) !== undefined, WAIT);
    await agent(consul, '/v1/agent/service/deregister/orders-9');
    await waitUntil('and its removal', () => byPort(sink, 'orders', 7009) === undefined, WAIT);
    await source.stop();
  });

  test('network cut: a change made while away is in the snapshot after reconnecting', async () => {
    const relay = await startRelay(consul.port);
    const { sink, source } = await start({ addresses: [relay.address], refreshInterval: '2s' });
    assert.ok(sink.services.has('payments'));
    const listings = count(sink, 'snapshot');
    await relay.cut();
    await waitUntil('down() when the path is cut', () => count(sink, 'down') === 1, WAIT);
    await register(consul, {
      ID: 'pay-2',
      Name: 'payments',
      Address: '127.0.0.1',
      Port: 9091,
      Meta: { protocol: 'grpc' },
    });
    await agent(consul, '/v1/agent/check/fail/service:orders-2');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(byPort(sink, 'payments', 9091), undefined);
    await relay.mend();
    await waitUntil(
      'reconnected: a new listing with pay-2',
      () => count(sink, 'snapshot') > listings && byPort(sink, 'payments', 9091) !== undefined,
      { timeoutMs: 8_000 },
    );
    const viaUpdate = sink.calls.some((c) => c.type === 'update' && c.service.endpoints.some((e) => e.port === 9091));
    assert.equal(viaUpdate, false, 'pay-2 arrived in the snapshot itself');
    assert.equal(byPort(sink, 'orders', b2.port)?.healthy, false, 'the check failed while away is seen too');
    await agent(consul, '/v1/agent/check/pass/service:orders-2');
    await agent(consul, '/v1/agent/service/deregister/pay-2');
    await source.stop();
    await relay.cut();
  });

  test('several addresses: a dead first one at start, and losing the current one, fail over without down()', async () => {
    const a = await startRelay(consul.port);
    const b = await startRelay(consul.port);
    await a.cut();
    const { sink, source } = await start({ addresses: [a.address, b.address] });
    assert.equal(count(sink, 'snapshot'), 1, 'listed through the second address');
    await a.mend();
    await b.cut();
    await register(consul, { ID: 'orders-8', Name: 'orders', Address: '127.0.0.8', Port: 7008 });
    await waitUntil('a change seen through the first address', () => byPort(sink, 'orders', 7008) !== undefined, WAIT);
    assert.equal(count(sink, 'down'), 0, 'never down: one address always answered');
    assert.ok(count(sink, 'snapshot') >= 2, 're-listed through the first address');
    await agent(consul, '/v1/agent/service/deregister/orders-8');
    await source.stop();
    await a.cut();
  });

  test('refreshInterval: periodic full listings (snapshots)', async () => {
    const { sink, source } = await start({ refreshInterval: '300ms' });
    await waitUntil('two more snapshots', () => count(sink, 'snapshot') >= 3, { timeoutMs: 3_000 });
    await source.stop();
  });
});

describe('consul source: ACL token and datacenters', () => {
  let dc1: ConsulStandIn;
  let dc2: ConsulStandIn;
  const TOKEN = 's3cr3t';
  before(async () => {
    dc1 = await startConsulStandIn({ token: TOKEN });
    dc2 = await startConsulStandIn({ datacenter: 'dc2', join: dc1, nodeAddress: '127.0.0.2' });
    await register(dc1, { ID: 'web-1', Name: 'web', Port: 8001 }, TOKEN);
    await register(dc2, { ID: 'web-2', Name: 'web', Port: 8002 });
    await register(dc2, { ID: 'api-2', Name: 'api', Port: 8003 });
  });
  after(async () => {
    await dc1.stop();
    await dc2.stop();
  });

  test('without the token: an ACL-filtered empty answer is down(), never an empty registry; with it: listed', async () => {
    const denied = new RecordingSink();
    const s1 = consulSource({ name: 'c', spec: spec({ addresses: [dc1.address] }), sink: denied });
    await s1.start();
    await s1.stop();
    assert.equal(count(denied, 'snapshot'), 0);
    const down = denied.calls.find((c) => c.type === 'down');
    assert.ok(down && down.type === 'down');
    assert.match(down.error.message, /filtered out by ACLs/);
    assert.equal((down.error as { code?: string }).code, 'PORTICO_ERR_DISCOVERY_CONSUL_UNAVAILABLE');

    const sink = new RecordingSink();
    const s2 = consulSource({
      name: 'c',
      spec: spec({ addresses: [dc1.address], credentials: { token: TOKEN } }),
      sink,
    });
    await s2.start();
    assert.deepEqual(
      endpoints(sink, 'web').map((e) => e.port),
      [8001],
    );
    await register(dc1, { ID: 'web-3', Name: 'web', Port: 8004 }, TOKEN);
    await waitUntil('web-3 seen with the token', () => endpoints(sink, 'web').length === 2, WAIT);
    await s2.stop();
  });

  test('datacenter: ?dc reaches the joined dc2; an unknown one is an outage, not an empty registry', async () => {
    const sink = new RecordingSink();
    const s = consulSource({
      name: 'c',
      spec: spec({ addresses: [dc1.address], credentials: { token: TOKEN }, datacenter: 'dc2' }),
      sink,
    });
    await s.start();
    assert.deepEqual([...sink.services.keys()].sort(), ['api', 'consul', 'web']);
    assert.deepEqual(
      endpoints(sink, 'web').map((e) => [e.address, e.port]),
      [['127.0.0.2', 8002]],
    );
    await register(dc2, { ID: 'api-3', Name: 'api', Port: 8005 });
    await waitUntil('a dc2 change through the dc1 agent', () => endpoints(sink, 'api').length === 2, WAIT);
    await s.stop();

    const lost = new RecordingSink();
    const s9 = consulSource({
      name: 'c',
      spec: spec({ addresses: [dc1.address], credentials: { token: TOKEN }, datacenter: 'dc9' }),
      sink: lost,
    });
    await s9.start();
    await s9.stop();
    assert.equal(count(lost, 'snapshot'), 0);
    assert.match((lost.calls[0] as { error: Error }).error.message, /HTTP 500: .*No path to datacenter/);
  });
});
