/**
 * The ZooKeeper source against a real ZooKeeper (Debian's, via @portico/testkit). The test writes znodes the way
 * the registries' own clients do: Dubbo's ZookeeperRegistry (ephemeral `<root>/<iface>/providers/<URLEncoder(url)>`
 * under persistent parents) and Curator x-discovery as used by Spring Cloud Zookeeper and Dubbo 3 application-level
 * registration (`<root>/<name>/<id>` holding ServiceInstance JSON). Each test uses its own roots.
 * The outage tests stop and cut the registry, so they run last.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { springZookeeperInstance, startZooKeeper, waitUntil, type ZooKeeperServer } from '@portico/testkit';
import { ACL, type Client, CreateMode, createClient, Id, Permission } from 'node-zookeeper-client';
import type { SpecOf } from '../src/index.ts';
import { zookeeperSource } from '../src/sources/zookeeper/zookeeper-source.ts';
import { RecordingSink } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

// --- writing znodes as Dubbo and Curator do ------------------------------------------------------------------

function call<T>(fn: (cb: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

async function connectWriter(connectString: string, digest?: string): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: 30_000 });
  if (digest !== undefined) client.addAuthInfo('digest', Buffer.from(digest));
  const connected = new Promise<void>((resolve) => client.once('connected', resolve));
  client.connect();
  await connected;
  return client;
}

/** Java's URLEncoder, which Dubbo uses for provider node names. */
function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function dubboUrl(
  iface: string,
  host: string,
  port: number,
  params: Record<string, string> = {},
  protocol = 'dubbo',
): string {
  const query = new URLSearchParams({
    anyhost: 'true',
    application: 'demo-provider',
    dubbo: '2.0.2',
    interface: iface,
    methods: 'sayHello,sayHi',
    side: 'provider',
    timestamp: '1700000000000',
    ...params,
  });
  return `${protocol}://${host}:${port}/${iface}?${decodeURIComponent(query.toString())}`;
}

class Registrar {
  readonly client: Client;
  readonly dubboRoot: string;
  readonly servicesRoot: string;
  constructor(client: Client, dubboRoot: string, servicesRoot: string) {
    this.client = client;
    this.dubboRoot = dubboRoot;
    this.servicesRoot = servicesRoot;
  }

  /** As Dubbo's ZookeeperRegistry: persistent parents, an ephemeral child named by the encoded URL. */
  async dubbo(iface: string, url: string, mode = CreateMode.EPHEMERAL): Promise<string> {
    return this.dubboRaw(iface, javaUrlEncode(url), mode);
  }
  async dubboRaw(iface: string, child: string, mode = CreateMode.EPHEMERAL): Promise<string> {
    const dir = `${this.dubboRoot}/${iface}/providers`;
    await call((cb) => this.client.mkdirp(dir, cb));
    return call((cb) => this.client.create(`${dir}/${child}`, Buffer.from('127.0.0.1'), mode, cb));
  }
  /** As Curator's ServiceDiscovery.registerService: persistent parents, an ephemeral `<name>/<id>` with JSON. */
  async instance(name: string, id: string, json: object, mode = CreateMode.EPHEMERAL): Promise<string> {
    await call((cb) => this.client.mkdirp(`${this.servicesRoot}/${name}`, cb));
    return this.instanceRaw(name, id, Buffer.from(JSON.stringify(json)), mode);
  }
  instanceRaw(name: string, id: string, data: Buffer, mode = CreateMode.EPHEMERAL): Promise<string> {
    return call((cb) => this.client.create(`${this.servicesRoot}/${name}/${id}`, data, mode, cb));
  }
  /** As ServiceDiscovery.updateService (Spring Cloud's status endpoint does this). */
  async update(path: string, json: object): Promise<void> {
    await call((cb) => this.client.setData(path, Buffer.from(JSON.stringify(json)), cb));
  }
  remove(path: string): Promise<void> {
    return call((cb) => this.client.remove(path, (err) => cb(err, undefined)));
  }
  /** Depth-first removal (the test's cleanup; Curator leaves service nodes behind). */
  async removeTree(path: string): Promise<void> {
    const children = await call<string[]>((cb) => this.client.getChildren(path, cb));
    for (const child of children) await this.removeTree(`${path}/${child}`);
    await this.remove(path);
  }
}

/** Spring Cloud Zookeeper's registration: ServiceInstance<ZookeeperInstance> with the default uriSpec. */
function springInstance(name: string, port: number, metadata: Record<string, string> = {}, over: object = {}) {
  const instance = { name, id: randomUUID(), address: '127.0.0.1', port, metadata, registrationTimeUTC: Date.now() };
  return springZookeeperInstance(instance, over as Record<string, unknown>);
}

/** Dubbo 3 application-level registration (ZookeeperServiceDiscovery), id `host:port`. */
function dubboAppInstance(name: string, host: string, port: number, triPort: number) {
  return {
    name,
    id: `${host}:${port}`,
    address: host,
    port,
    sslPort: null,
    payload: {
      '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance',
      id: null,
      name,
      metadata: {
        'dubbo.endpoints': JSON.stringify([
          { port, protocol: 'dubbo' },
          { port: triPort, protocol: 'tri' },
        ]),
        'dubbo.metadata.revision': '4f2a9c0e1d',
        'dubbo.metadata.storage-type': 'local',
        timestamp: String(Date.now()),
      },
    },
    registrationTimeUTC: Date.now(),
    serviceType: 'DYNAMIC',
    uriSpec: null,
    enabled: true,
  };
}

/** A TCP relay in front of ZooKeeper that can cut every connection and refuse new ones (a network partition). */
async function startRelay(targetPort: number) {
  const sockets = new Set<Socket>();
  let blocked = false;
  const server: Server = createServer((downstream) => {
    if (blocked) {
      downstream.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    sockets.add(downstream).add(upstream);
    const done = () => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    for (const s of [downstream, upstream]) s.on('error', done).on('close', done);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    connectString: `127.0.0.1:${address.port}`,
    block() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock() {
      blocked = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// --- helpers -------------------------------------------------------------------------------------------------

const IFACE = 'com.example.DemoService';
const V1 = `providers:${IFACE}:1.0.0:g1`;
const V2 = `providers:${IFACE}:2.0.0:`;

function spec(zk: string, root: string, over: Partial<SpecOf<'zookeeper'>> = {}): SpecOf<'zookeeper'> {
  return {
    type: 'zookeeper',
    addresses: [zk],
    dubboRoot: `${root}/dubbo`,
    servicesRoot: `${root}/services`,
    sessionTimeout: '6s',
    refreshInterval: '30s',
    ...over,
  };
}

const ports = (sink: RecordingSink, name: string) =>
  (sink.services.get(name)?.endpoints ?? []).map((e) => e.port).sort((a, b) => a - b);
const endpoint = (sink: RecordingSink, name: string, port: number) =>
  sink.services.get(name)?.endpoints.find((e) => e.port === port);
const callsOf = <T extends RecordingSink['calls'][number]['type']>(sink: RecordingSink, type: T) =>
  sink.calls.filter((c): c is Extract<RecordingSink['calls'][number], { type: T }> => c.type === type);

let zk: ZooKeeperServer;
let writer: Client;

before(async () => {
  zk = await startZooKeeper();
  writer = await connectWriter(zk.connectString);
});

after(async () => {
  writer?.close();
  await zk?.stop();
});

describe('ZooKeeper source', () => {
  test('initial listing, then register, deregister, weight, disable, services added and removed', async (t) => {
    const reg = new Registrar(writer, '/t1/dubbo', '/t1/services');
    const a = await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1' }));
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 50051, { version: '1.0.0', group: 'g1' }, 'tri'));
    const v2 = await reg.dubbo(IFACE, dubboUrl(IFACE, '::1', 20890, { version: '2.0.0', weight: '40' }));
    await reg.dubboRaw(IFACE, javaUrlEncode(dubboUrl(IFACE, '127.0.0.1', 0, { version: '1.0.0', group: 'g1' })));
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20999, { version: '1.0.0', group: 'g1', side: 'consumer' }));
    const o1 = springInstance('orders', 8081);
    const o1Path = await reg.instance('orders', o1.id, o1);
    await reg.instance('orders', randomUUID(), springInstance('orders', 8082, { weight: '2', zone: 'zone-a' }));
    await reg.instanceRaw('orders', randomUUID(), Buffer.from('{"address": "127.0.0.1", "port": '));
    await reg.instance(
      'demo-provider',
      '127.0.0.1:20880',
      dubboAppInstance('demo-provider', '127.0.0.1', 20880, 50052),
    );

    const sink = new RecordingSink();
    const source = zookeeperSource({ name: 'zk', spec: spec(zk.connectString, '/t1'), sink });
    t.after(() => source.stop());
    await source.start();

    const first = sink.calls.find((c) => c.type !== 'skipped');
    assert.equal(first?.type, 'snapshot', 'the first call (besides skipped registrations) is a complete listing');
    assert.deepEqual([...sink.services.keys()].sort(), ['demo-provider', 'orders', V1, V2].sort());
    assert.deepEqual(ports(sink, V1), [20880, 50051]);
    assert.deepEqual(
      sink.services
        .get(V1)
        ?.endpoints.map((e) => e.protocol)
        .sort(),
      ['dubbo', 'tri'],
      'protocol from the URL scheme',
    );
    assert.equal(endpoint(sink, V1, 20880)?.metadata.methods, 'sayHello,sayHi');
    assert.equal(endpoint(sink, V1, 20880)?.metadata.application, 'demo-provider');
    assert.deepEqual(
      { ...endpoint(sink, V2, 20890), metadata: {} },
      { address: '::1', port: 20890, weight: 40, healthy: true, protocol: 'dubbo', metadata: {} },
    );
    assert.match(sink.services.get(V1)?.revision ?? '', /^[0-9]+$/, 'revision is the providers node pzxid');
    assert.deepEqual(ports(sink, 'orders'), [8081, 8082]);
    assert.equal(endpoint(sink, 'orders', 8082)?.weight, 200, 'Spring Cloud weight metadata x100');
    assert.equal(endpoint(sink, 'orders', 8082)?.zone, 'zone-a');
    assert.deepEqual(
      { ...endpoint(sink, 'demo-provider', 50052), metadata: {} },
      { address: '127.0.0.1', port: 50052, weight: 100, healthy: true, protocol: 'tri', metadata: {} },
    );
    const skipped = callsOf(sink, 'skipped');
    assert.ok(skipped.some((s) => s.service === IFACE && /bad port "0"/.test(s.reason) && s.raw?.includes('%3A0%2F')));
    assert.ok(skipped.some((s) => s.service === IFACE && /side "consumer"/.test(s.reason)));
    assert.ok(skipped.some((s) => s.service === 'orders' && /not JSON/.test(s.reason) && s.raw?.includes('"port"')));

    // Register, then deregister, a provider.
    const c = await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.2', 20881, { version: '1.0.0', group: 'g1' }));
    await waitUntil('a third v1 provider', () => ports(sink, V1).length === 3, WAIT);
    assert.equal(endpoint(sink, V1, 20881)?.address, '127.0.0.2');
    await reg.remove(c);
    await waitUntil('the third v1 provider gone', () => ports(sink, V1).length === 2, WAIT);
    assert.deepEqual(ports(sink, V1), [20880, 50051]);

    // Weight: Dubbo re-registers its URL; Spring Cloud rewrites the instance data.
    await reg.remove(a);
    const a2 = await reg.dubbo(
      IFACE,
      dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1', weight: '7' }),
    );
    await waitUntil('dubbo weight 7', () => endpoint(sink, V1, 20880)?.weight === 7, WAIT);
    await reg.update(o1Path, { ...o1, payload: { ...o1.payload, metadata: { instance_status: 'UP', weight: '5' } } });
    await waitUntil('spring weight 5 -> 500', () => endpoint(sink, 'orders', 8081)?.weight === 500, WAIT);

    // Disabled / out of service: still published, healthy false.
    await reg.remove(a2);
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1', enabled: 'false' }));
    await waitUntil('dubbo provider disabled', () => endpoint(sink, V1, 20880)?.healthy === false, WAIT);
    await reg.update(o1Path, { ...o1, payload: { ...o1.payload, metadata: { instance_status: 'OUT_OF_SERVICE' } } });
    await waitUntil('spring instance OUT_OF_SERVICE', () => endpoint(sink, 'orders', 8081)?.healthy === false, WAIT);
    assert.equal(ports(sink, 'orders').length, 2, 'the instance is kept, unhealthy');

    // A malformed registration next to a good one: skipped, the good one flows.
    await reg.dubboRaw(IFACE, 'dubbo%3A%2F%2F127.0.0.1%3A20882%2F%ZZ');
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20883, { version: '1.0.0', group: 'g1' }));
    await waitUntil('the good provider next to a malformed one', () => ports(sink, V1).includes(20883), WAIT);
    assert.ok(callsOf(sink, 'skipped').some((s) => s.reason === 'bad URL encoding' && s.raw?.endsWith('%ZZ')));

    // Services added: a new interface, a new application.
    await reg.dubbo('com.example.OrderService', dubboUrl('com.example.OrderService', '127.0.0.1', 20884));
    const payments = springInstance('payments', 9090);
    await reg.instance('payments', payments.id, payments);
    await waitUntil(
      'new services',
      () => sink.services.has('providers:com.example.OrderService::') && sink.services.has('payments'),
      WAIT,
    );

    // Services removed: the last provider of a version, an application's node, a whole interface directory.
    const removes = () => callsOf(sink, 'remove').map((r) => r.name);
    await reg.remove(v2);
    await waitUntil('v2 removed', () => removes().includes(V2), WAIT);
    await reg.removeTree('/t1/services/payments');
    await waitUntil('payments removed', () => removes().includes('payments'), WAIT);
    await reg.removeTree('/t1/dubbo/com.example.OrderService');
    await waitUntil('OrderService removed', () => removes().includes('providers:com.example.OrderService::'), WAIT);
    assert.ok(sink.services.has(V1) && sink.services.has('orders'), 'the rest stays');
    assert.equal(callsOf(sink, 'down').length, 0);
    assert.equal(callsOf(sink, 'snapshot').length, 1);
  });

  test('the services filter: an interface, a Dubbo service key, an application', async (t) => {
    const reg = new Registrar(writer, '/t2/dubbo', '/t2/services');
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 1001, { version: '1.0.0' }));
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 1002, { version: '2.0.0' }));
    await reg.dubbo('com.example.A', dubboUrl('com.example.A', '127.0.0.1', 1003, { version: '1' }));
    await reg.dubbo('com.example.A', dubboUrl('com.example.A', '127.0.0.1', 1004, { version: '2' }));
    await reg.dubbo('com.example.B', dubboUrl('com.example.B', '127.0.0.1', 1005));
    for (const name of ['orders', 'billing']) await reg.instance(name, randomUUID(), springInstance(name, 1006));
    const sink = new RecordingSink();
    const filter = [IFACE, 'providers:com.example.A:2:', 'orders'];
    const source = zookeeperSource({ name: 'zk', spec: spec(zk.connectString, '/t2', { services: filter }), sink });
    t.after(() => source.stop());
    await source.start();
    assert.deepEqual(
      [...sink.services.keys()].sort(),
      [`providers:${IFACE}:1.0.0:`, `providers:${IFACE}:2.0.0:`, 'providers:com.example.A:2:', 'orders'].sort(),
    );
    await reg.dubbo('com.example.A', dubboUrl('com.example.A', '127.0.0.1', 1007, { version: '1' }));
    await reg.instance('billing', randomUUID(), springInstance('billing', 1008));
    await reg.dubbo('com.example.A', dubboUrl('com.example.A', '127.0.0.1', 1009, { version: '2' }));
    await waitUntil('a wanted change', () => ports(sink, 'providers:com.example.A:2:').length === 2, WAIT);
    assert.ok(!sink.services.has('providers:com.example.A:1:') && !sink.services.has('billing'));
  });

  test('periodic re-list: a complete snapshot every refreshInterval', async (t) => {
    const reg = new Registrar(writer, '/t6/dubbo', '/t6/services');
    await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1' }));
    await reg.instance('orders', 'o1', springInstance('orders', 8081));
    const sink = new RecordingSink();
    const source = zookeeperSource({
      name: 'zk',
      spec: spec(zk.connectString, '/t6', { refreshInterval: '300ms' }),
      sink,
    });
    t.after(() => source.stop());
    await source.start();
    await reg.instance('orders', 'o2', springInstance('orders', 8082));
    await waitUntil('two periodic snapshots', () => callsOf(sink, 'snapshot').length >= 3, WAIT);
    const last = callsOf(sink, 'snapshot').at(-1)!;
    assert.deepEqual(last.services.map((s) => s.name).sort(), ['orders', V1].sort());
    assert.deepEqual(
      last.services
        .find((s) => s.name === 'orders')
        ?.endpoints.map((e) => e.port)
        .sort(),
      [8081, 8082],
    );
    assert.equal(callsOf(sink, 'down').length, 0);
  });

  test('digest credentials: read with them, down() without', async (t) => {
    const secure = await connectWriter(zk.connectString, 'portico:s3cret');
    t.after(() => secure.close());
    const { createHash } = await import('node:crypto');
    const digestId = `portico:${createHash('sha1').update('portico:s3cret').digest('base64')}`;
    const acl = [new ACL(Permission.ALL, new Id('digest', digestId))];
    await call((cb) => secure.mkdirp('/t3', cb));
    for (const path of ['/t3/dubbo', `/t3/dubbo/${IFACE}`, `/t3/dubbo/${IFACE}/providers`])
      await call((cb) => secure.create(path, acl, CreateMode.PERSISTENT, cb));
    const url = dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1' });
    await call((cb) =>
      secure.create(`/t3/dubbo/${IFACE}/providers/${javaUrlEncode(url)}`, acl, CreateMode.EPHEMERAL, cb),
    );

    const sink = new RecordingSink();
    const withCreds = zookeeperSource({
      name: 'zk',
      spec: spec(zk.connectString, '/t3', { credentials: { digest: 'portico:s3cret' } }),
      sink,
    });
    t.after(() => withCreds.stop());
    await withCreds.start();
    assert.deepEqual(ports(sink, V1), [20880]);

    const denied = new RecordingSink();
    const without = zookeeperSource({ name: 'zk', spec: spec(zk.connectString, '/t3'), sink: denied });
    t.after(() => without.stop());
    await without.start();
    const downs = callsOf(denied, 'down');
    assert.equal(downs.length, 1);
    assert.match(downs[0]?.error.message ?? '', /NO_AUTH/);
    assert.equal(callsOf(denied, 'snapshot').length, 0);
  });
});

describe('ZooKeeper source, registry outages', () => {
  test('registry stopped: down() once, nothing removed; restarted: a snapshot', async (t) => {
    const reg = new Registrar(writer, '/t4/dubbo', '/t4/services');
    await reg.dubbo(
      IFACE,
      dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1' }),
      CreateMode.PERSISTENT,
    );
    await reg.instance('orders', 'o1', springInstance('orders', 8081), CreateMode.PERSISTENT);
    const sink = new RecordingSink();
    const source = zookeeperSource({ name: 'zk', spec: spec(zk.connectString, '/t4'), sink });
    t.after(() => source.stop());
    await source.start();
    assert.deepEqual([...sink.services.keys()].sort(), ['orders', V1].sort());

    await zk.stop();
    await waitUntil('down() after the registry stopped', () => !sink.connected, WAIT);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(callsOf(sink, 'down').length, 1, 'once per outage, not per retry');
    assert.equal(callsOf(sink, 'remove').length, 0);
    assert.deepEqual([...sink.services.keys()].sort(), ['orders', V1].sort(), 'last known endpoints kept');

    await zk.restart();
    await waitUntil('a snapshot once the registry is back', () => sink.connected, { timeoutMs: 15_000 });
    assert.deepEqual([...sink.services.keys()].sort(), ['orders', V1].sort());
    assert.deepEqual(ports(sink, V1), [20880]);
    assert.equal(callsOf(sink, 'down').length, 1);
  });

  for (const [label, awayMs] of [
    ['a short cut (the session resumes)', 1500],
    ['a cut longer than the session timeout (a new session)', 7500],
  ] as const) {
    test(`changes made during ${label} are in the snapshot after it`, async (t) => {
      // The writer (the registry's other clients) talks to ZooKeeper directly: only the source is cut off.
      const root = `/t5/${awayMs}`;
      const reg = new Registrar(writer, `${root}/dubbo`, `${root}/services`);
      const p = CreateMode.PERSISTENT;
      const gone = await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20880, { version: '1.0.0', group: 'g1' }), p);
      const o1 = springInstance('orders', 8081);
      const o1Path = await reg.instance('orders', 'o1', o1, p);
      const relay = await startRelay(zk.port);
      t.after(() => relay.close());
      const sink = new RecordingSink();
      const source = zookeeperSource({ name: 'zk', spec: spec(relay.connectString, root), sink });
      t.after(() => source.stop());
      await source.start();
      assert.deepEqual(ports(sink, V1), [20880]);

      relay.block();
      await waitUntil('down() when the connection is cut', () => !sink.connected, WAIT);
      const downAt = sink.calls.length;
      await reg.remove(gone);
      await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20881, { version: '1.0.0', group: 'g1' }), p);
      await reg.update(o1Path, { ...o1, payload: { ...o1.payload, metadata: { weight: '3' } } });
      await reg.instance('payments', 'p1', springInstance('payments', 9090), p);
      await new Promise((r) => setTimeout(r, awayMs));
      assert.equal(callsOf(sink, 'remove').length, 0, 'nothing removed while away');
      assert.deepEqual(ports(sink, V1), [20880], 'last known endpoints kept while away');
      relay.unblock();

      await waitUntil('a snapshot after reconnecting', () => sink.connected, { timeoutMs: 15_000 });
      const snapshot = sink.calls.slice(downAt).find((c) => c.type === 'snapshot');
      assert.ok(snapshot !== undefined);
      const names = snapshot.services.map((s) => s.name).sort();
      assert.deepEqual(names, ['orders', 'payments', V1].sort());
      assert.deepEqual(ports(sink, V1), [20881]);
      assert.equal(endpoint(sink, 'orders', 8081)?.weight, 300);
      assert.equal(callsOf(sink, 'down').length, 1);

      // Watches work again after the reconnect.
      await reg.dubbo(IFACE, dubboUrl(IFACE, '127.0.0.1', 20882, { version: '1.0.0', group: 'g1' }), p);
      await waitUntil('a change after the reconnect', () => ports(sink, V1).includes(20882), WAIT);
    });
  }
});
