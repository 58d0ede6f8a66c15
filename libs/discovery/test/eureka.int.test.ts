/**
 * The Eureka source against a real Eureka server (Spring Cloud Netflix Eureka Server, e2e/peers/eureka-server).
 * Instances are registered over Eureka's REST API by a small client stand-in that heartbeats and re-registers on
 * 404, as Eureka clients do.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RegistrySpec } from '@portico/config';
import { type EurekaServerPeer, startEurekaServer, startSpringService, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { eurekaSource } from '../src/sources/eureka/eureka-source.ts';
import { RecordingSink, type SinkCall } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

const DELTA = '500ms';

function spec(input: Record<string, unknown>): SpecOf<'eureka'> {
  return RegistrySpec.parse({
    type: 'eureka',
    deltaInterval: DELTA,
    refreshInterval: '60s',
    ...input,
  }) as SpecOf<'eureka'>;
}

interface Instance {
  app: string;
  id: string;
  port: number | string;
  metadata?: Record<string, string>;
}

/** Eureka clients in miniature: register, heartbeat every 500 ms, re-register when the server forgot them. */
class Clients {
  readonly #base: string;
  readonly #instances = new Map<string, Instance>();
  readonly #timer: NodeJS.Timeout;
  paused = false;

  constructor(base: string) {
    this.#base = base.replace(/\/+$/, '');
    this.#timer = setInterval(() => void this.#beat(), 500);
  }

  async register(instance: Instance): Promise<void> {
    this.#instances.set(`${instance.app}/${instance.id}`, instance);
    await this.#post(instance);
  }

  /** Registered on the next heartbeat that reaches the server (for changes made while it is away). */
  later(instance: Instance): void {
    this.#instances.set(`${instance.app}/${instance.id}`, instance);
  }

  forget(app: string, id: string): void {
    this.#instances.delete(`${app}/${id}`);
  }

  async deregister(app: string, id: string): Promise<void> {
    this.forget(app, id);
    await this.#call('DELETE', `/apps/${app}/${id}`);
  }

  async status(app: string, id: string, value: 'OUT_OF_SERVICE' | 'UP'): Promise<void> {
    // PUT sets the override; DELETE removes it (back to the instance's own status).
    await this.#call(value === 'UP' ? 'DELETE' : 'PUT', `/apps/${app}/${id}/status?value=${value}`);
  }

  async metadata(app: string, id: string, metadata: Record<string, string>): Promise<void> {
    await this.#call('PUT', `/apps/${app}/${id}/metadata?${new URLSearchParams(metadata)}`);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #beat(): Promise<void> {
    if (this.paused) return;
    for (const instance of this.#instances.values()) {
      try {
        const res = await fetch(`${this.#base}/apps/${instance.app}/${instance.id}`, { method: 'PUT' });
        if (res.status === 404) await this.#post(instance);
      } catch {
        // Server away: keep beating.
      }
    }
  }

  async #post(i: Instance): Promise<void> {
    const body = {
      instance: {
        instanceId: i.id,
        hostName: '127.0.0.1',
        app: i.app,
        ipAddr: '127.0.0.1',
        status: 'UP',
        port: { $: i.port, '@enabled': 'true' },
        securePort: { $: 443, '@enabled': 'false' },
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
        leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 30 },
        vipAddress: i.app.toLowerCase(),
        metadata: i.metadata ?? {},
      },
    };
    const res = await fetch(`${this.#base}/apps/${i.app}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 204, `register ${i.app}/${i.id}`);
  }

  async #call(method: string, path: string): Promise<void> {
    const res = await fetch(`${this.#base}${path}`, { method });
    assert.equal(res.ok, true, `${method} ${path}: HTTP ${res.status}`);
  }
}

const ports = (sink: RecordingSink, service: string) =>
  sink.services
    .get(service)
    ?.endpoints.map((e) => e.port)
    .sort((a, b) => a - b);

const endpoint = (sink: RecordingSink, service: string, port: number) =>
  sink.services.get(service)?.endpoints.find((e) => e.port === port);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('eureka source (real Eureka server)', () => {
  let a: EurekaServerPeer;
  let b: EurekaServerPeer;
  let clients: Clients;
  let bClients: Clients;
  const sources: DiscoverySource[] = [];
  const sink = new RecordingSink();
  const latencies: number[] = [];

  /** Runs a registry write and waits for the sink to show it; records the write -> sink time. */
  async function change(write: () => Promise<void>, check: (s: RecordingSink) => boolean, what: string) {
    const at = performance.now();
    const from = sink.calls.length;
    await write();
    await waitUntil(what, () => check(sink), WAIT);
    latencies.push(performance.now() - at);
    return sink.calls.slice(from);
  }

  before(async () => {
    [a, b] = await Promise.all([startEurekaServer(), startEurekaServer()]);
    clients = new Clients(a.url);
    bClients = new Clients(b.url);
    await clients.register({ app: 'ORDERS', id: 'o1', port: 18001 });
    await clients.register({ app: 'ORDERS', id: 'o2', port: 18002 });
    await bClients.register({ app: 'ORDERS', id: 'o1', port: 18001 });
    await bClients.register({ app: 'PAYMENTS', id: 'p1', port: 19001 });
    const source = eurekaSource({ name: 'eureka', sink, spec: spec({ addresses: [a.url] }) });
    sources.push(source);
    await source.start();
  });

  after(async () => {
    clients?.close();
    bClients?.close();
    await Promise.all(sources.map((s) => s.stop()));
    await Promise.all([a?.kill(), b?.kill()]);
  });

  test('initial full fetch: one snapshot, lower-case service name, UP instances healthy at weight 100', () => {
    assert.deepEqual(
      sink.calls.map((c) => c.type),
      ['snapshot'],
    );
    assert.deepEqual(ports(sink, 'orders'), [18001, 18002]);
    const o1 = endpoint(sink, 'orders', 18001)!;
    assert.deepEqual(
      { address: o1.address, healthy: o1.healthy, weight: o1.weight, protocol: o1.protocol },
      { address: '127.0.0.1', healthy: true, weight: 100, protocol: 'http' },
    );
  });

  test('register, OUT_OF_SERVICE and back, weight metadata, deregister: each an update() from a delta', async () => {
    let calls = await change(
      () => clients.register({ app: 'ORDERS', id: 'o3', port: 18003 }),
      (s) => ports(s, 'orders')?.length === 3,
      'o3 registered',
    );
    assert.ok(
      calls.every((c) => c.type === 'update'),
      'a delta, not a full fetch',
    );

    await change(
      () => clients.status('ORDERS', 'o1', 'OUT_OF_SERVICE'),
      (s) => endpoint(s, 'orders', 18001)?.healthy === false,
      'o1 out of service',
    );
    assert.equal(ports(sink, 'orders')?.length, 3, 'published unhealthy, not dropped');
    await change(
      () => clients.status('ORDERS', 'o1', 'UP'),
      (s) => endpoint(s, 'orders', 18001)?.healthy === true,
      'o1 back in service',
    );

    calls = await change(
      () => clients.metadata('ORDERS', 'o2', { weight: '5', zone: 'z2' }),
      (s) => endpoint(s, 'orders', 18002)?.weight === 500,
      'o2 weight 5 -> 500',
    );
    assert.equal(endpoint(sink, 'orders', 18002)?.zone, 'z2');

    await change(
      () => clients.deregister('ORDERS', 'o3'),
      (s) => ports(s, 'orders')?.length === 2,
      'o3 deregistered',
    );
    assert.ok(
      sink.calls.every((c) => c.type === 'snapshot' || c.type === 'update'),
      JSON.stringify(sink.calls.map((c) => c.type)),
    );
  });

  test('an app appears (update) and goes with its last instance (remove)', async () => {
    await change(
      () => clients.register({ app: 'USERS', id: 'u1', port: 18101 }),
      (s) => ports(s, 'users')?.[0] === 18101,
      'users appears',
    );
    const calls = await change(
      () => clients.deregister('USERS', 'u1'),
      (s) => !s.services.has('users'),
      'users gone',
    );
    assert.deepEqual(
      calls.filter((c) => c.type === 'remove'),
      [{ type: 'remove', name: 'users' }],
    );
  });

  test('a malformed instance (bad port, garbage weight) is skipped once; the rest keeps flowing', async () => {
    await change(
      async () => {
        await clients.register({ app: 'ORDERS', id: 'bad-port', port: 70000 });
        await clients.register({ app: 'ORDERS', id: 'bad-weight', port: 18009, metadata: { weight: 'heavy' } });
        await clients.register({ app: 'ORDERS', id: 'o4', port: 18004 });
      },
      (s) => ports(s, 'orders')?.includes(18004) === true,
      'o4 despite the bad ones',
    );
    const skipped = () => sink.calls.filter((c): c is Extract<SinkCall, { type: 'skipped' }> => c.type === 'skipped');
    await waitUntil('both reported', () => skipped().length >= 2, WAIT);
    assert.deepEqual(ports(sink, 'orders'), [18001, 18002, 18004]);
    assert.ok(skipped().some((c) => c.service === 'orders' && /bad-port: bad port 70000/.test(c.reason)));
    assert.ok(skipped().some((c) => c.service === 'orders' && /bad-weight: bad weight/.test(c.reason)));
    const count = skipped().length;
    await new Promise((r) => setTimeout(r, 1500)); // three more deltas still carry them
    assert.equal(skipped().length, count, 'reported once, not on every delta');
    await clients.deregister('ORDERS', 'bad-port');
    await clients.deregister('ORDERS', 'bad-weight');
  });

  test('a Spring Cloud service (a real Eureka client): weight metadata honoured; stopped -> deregistered', async () => {
    const service = await startSpringService({ name: 'greeter', eurekaUrl: a.url, weight: 3 });
    try {
      await waitUntil('greeter UP', () => endpoint(sink, 'greeter', service.port)?.healthy === true, WAIT);
      const ep = endpoint(sink, 'greeter', service.port)!;
      assert.equal(ep.weight, 300);
      assert.equal(ep.address, '127.0.0.1');
      assert.equal(ep.metadata.weight, '3');
    } finally {
      await service.stop();
    }
    await waitUntil('greeter removed after its shutdown deregistered it', () => !sink.services.has('greeter'), WAIT);
  });

  test('the services filter (case-insensitive, as Eureka app names are)', async () => {
    const filtered = new RecordingSink();
    const source = eurekaSource({
      name: 'f',
      sink: filtered,
      spec: spec({ addresses: [a.url], services: ['INVENTORY'] }),
    });
    sources.push(source);
    await source.start();
    assert.deepEqual([...filtered.services.keys()], []);
    await clients.register({ app: 'INVENTORY', id: 'i1', port: 18201 });
    await waitUntil('inventory', () => ports(filtered, 'inventory')?.[0] === 18201, WAIT);
    assert.deepEqual([...filtered.services.keys()], ['inventory']);
    await source.stop();
  });

  test('fail over to the next address; a delta from another server fails the hashcode check -> full fetch', async () => {
    const other = new RecordingSink();
    const source = eurekaSource({ name: 'fo', sink: other, spec: spec({ addresses: [b.url, a.url] }) });
    sources.push(source);
    await source.start();
    assert.deepEqual([...other.services.keys()].sort(), ['orders', 'payments'], 'listed from the first server (B)');
    bClients.close();
    await b.kill();
    await waitUntil(
      'a full fetch from A after the delta from A did not match the copy from B',
      () => other.calls.filter((c) => c.type === 'snapshot').length === 2 && !other.services.has('payments'),
      WAIT,
    );
    assert.deepEqual(ports(other, 'orders'), ports(sink, 'orders'));
    assert.equal(other.calls.filter((c) => c.type === 'down').length, 0, 'a failover is not an outage');
    await source.stop();
  });

  test('server killed: down() once, endpoints kept; restarted: instances re-register -> snapshot with the changes', async (t) => {
    const before = structuredClone(sink.services.get('orders'));
    const from = sink.calls.length;
    await a.kill();
    await waitUntil('down()', () => !sink.connected, WAIT);
    clients.forget('ORDERS', 'o2'); // gone while the registry was away: never re-registers
    clients.later({ app: 'ORDERS', id: 'o5', port: 18005 }); // new while the registry was away
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(sink.services.get('orders'), before, 'last known endpoints kept');
    assert.deepEqual(
      sink.calls.slice(from).map((c) => c.type),
      ['down'],
    );

    clients.paused = true;
    a = await startEurekaServer({ port: a.port });
    // Back but empty (its clients haven't re-registered yet): not believed, the stale endpoints stay.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sink.connected, false, 'an empty registry after an outage is not taken as the truth');
    assert.deepEqual(sink.services.get('orders'), before);
    const restartedAt = performance.now();
    clients.paused = false;
    await waitUntil(
      'resynced: o2 gone, o5 there',
      () => sink.connected && JSON.stringify(ports(sink, 'orders')) === JSON.stringify([18001, 18004, 18005]),
      { timeoutMs: 20_000 },
    );
    t.diagnostic(`clients re-registering -> resynced: ${Math.round(performance.now() - restartedAt)} ms`);
    const afterOutage = sink.calls.slice(from);
    assert.equal(afterOutage.filter((c) => c.type === 'down').length, 1, 'down() once per outage');
    assert.ok(afterOutage.some((c) => c.type === 'snapshot'));
    // The restarted server was empty for a while: that must never have reached the sink as an empty listing.
    for (const c of afterOutage) {
      if (c.type === 'snapshot') assert.ok(c.services.some((s) => s.name === 'orders' && s.endpoints.length > 0));
      assert.notEqual(c.type, 'remove');
    }
  });

  test('change -> sink latency', (t) => {
    t.diagnostic(
      `registry write -> sink, delta interval ${DELTA}: n=${latencies.length} p50=${Math.round(percentile(latencies, 50))} ms ` +
        `max=${Math.round(Math.max(...latencies))} ms`,
    );
    assert.ok(latencies.length >= 8);
  });
});

describe('eureka source (HTTP details, against a recording HTTP server)', () => {
  test('Accept: application/json, Basic credentials, and the next address when the first refuses', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ applications: { versions__delta: '1', apps__hashcode: '', application: [] } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const sink = new RecordingSink();
    const source = eurekaSource({
      name: 'x',
      sink,
      spec: spec({
        addresses: [`http://127.0.0.1:${deadPort}/eureka/`, `http://127.0.0.1:${port}/eureka`],
        credentials: { username: 'portico', password: 's3cret' },
      }),
    });
    await source.start();
    await source.stop();
    server.close();
    assert.deepEqual(
      sink.calls.map((c) => c.type),
      ['snapshot'],
    );
    assert.equal(seen[0]?.accept, 'application/json');
    assert.equal(seen[0]?.authorization, `Basic ${Buffer.from('portico:s3cret').toString('base64')}`);
  });

  test('no server answers: down() once, start() does not reject, retries until one does', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const sink = new RecordingSink();
    const source = eurekaSource({ name: 'x', sink, spec: spec({ addresses: [`http://127.0.0.1:${port}/eureka`] }) });
    await source.start();
    assert.equal(sink.calls[0]?.type, 'down');
    assert.match((sink.calls[0] as { error: Error }).error.message, /no Eureka server answered/);
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ applications: { apps__hashcode: 'UP_1_', application: [{ name: 'A', instance: [] }] } }),
      );
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await waitUntil('snapshot once it answers', () => sink.connected, WAIT);
    await source.stop();
    server.close();
    assert.equal(sink.calls.filter((c) => c.type === 'down').length, 1);
  });
  test('a registry back empty after an outage is believed after one refreshInterval, not before', async () => {
    let apps: unknown[] = [
      {
        name: 'A',
        instance: [
          { instanceId: 'a1', app: 'A', ipAddr: '127.0.0.1', status: 'UP', port: { $: 1, '@enabled': 'true' } },
        ],
      },
    ];
    const handler = (_req: unknown, res: ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ applications: { apps__hashcode: apps.length > 0 ? 'UP_1_' : '', application: apps } }));
    };
    let server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const sink = new RecordingSink();
    const source = eurekaSource({
      name: 'x',
      sink,
      spec: spec({ addresses: [`http://127.0.0.1:${port}/eureka`], deltaInterval: '100ms', refreshInterval: '1500ms' }),
    });
    await source.start();
    assert.equal(sink.services.get('a')?.endpoints.length, 1);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await waitUntil('down()', () => !sink.connected, WAIT);
    apps = [];
    server = createServer(handler);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const back = performance.now();
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(sink.connected, false, 'held');
    assert.equal(sink.services.get('a')?.endpoints.length, 1);
    await waitUntil('the empty listing taken after refreshInterval', () => sink.connected, { timeoutMs: 5000 });
    assert.ok(performance.now() - back >= 1400);
    assert.equal(sink.services.size, 0);
    await source.stop();
    server.closeAllConnections();
    server.close();
  });
});
