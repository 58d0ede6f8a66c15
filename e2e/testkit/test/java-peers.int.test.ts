import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import {
  type EurekaServerPeer,
  JAVA_PEERS_DIR,
  type JavaPeer,
  javaPeerJar,
  startDubboProvider,
  startEurekaServer,
  startJavaPeer,
  startSpringService,
  startZooKeeper,
  type ZooKeeperServer,
} from '../src/index.ts';

interface HttpReply {
  status: number;
  body: string;
}

function http(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<HttpReply>((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface EurekaInstance {
  instanceId: string;
  status: string;
  port: { $: number };
  metadata: Record<string, string>;
}

async function eurekaInstances(eureka: EurekaServerPeer, app: string): Promise<EurekaInstance[]> {
  const reply = await http(`${eureka.url}apps`, { headers: { accept: 'application/json' } });
  assert.equal(reply.status, 200);
  const apps = JSON.parse(reply.body) as {
    applications: { application: { name: string; instance: EurekaInstance[] }[] };
  };
  return apps.applications.application.find((a) => a.name === app.toUpperCase())?.instance ?? [];
}

function zkChildren(zk: zookeeper.Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    zk.getChildren(path, (err, children) => {
      if (err === null || err === undefined) return resolve(children);
      if (err instanceof zookeeper.Exception && err.getCode() === zookeeper.Exception.NO_NODE) return resolve([]);
      reject(err);
    });
  });
}

let eureka: EurekaServerPeer;
let zkServer: ZooKeeperServer;
let zk: zookeeper.Client;
const peers: JavaPeer[] = [];

before(async () => {
  // Build step check first: a missing jar fails here with the build hint, before any JVM starts.
  javaPeerJar('eureka-server');
  [eureka, zkServer] = await Promise.all([startEurekaServer(), startZooKeeper()]);
  peers.push(eureka);
  zk = zookeeper.createClient(zkServer.connectString, { sessionTimeout: 5000 });
  await new Promise<void>((resolve) => {
    zk.once('connected', () => resolve());
    zk.connect();
  });
});

after(async () => {
  zk?.close();
  await Promise.all(peers.map((p) => p.stop()));
  await zkServer?.stop();
});

test('a missing peer jar fails with the build hint; a missing jar elsewhere says so plainly', async () => {
  await assert.rejects(
    startJavaPeer({ jar: join(JAVA_PEERS_DIR, 'nope', 'target', 'nope.jar'), ready: { log: /never/ } }),
    /run: bash e2e\/peers\/build\.sh/,
  );
  await assert.rejects(
    startJavaPeer({ jar: '/nonexistent/peer.jar', ready: { log: /never/ } }),
    /jar \/nonexistent\/peer\.jar does not exist/,
  );
});

test('a peer that exits before it is ready fails with its own output', async () => {
  // The Dubbo provider without --registry prints its usage and exits 2.
  await assert.rejects(
    startJavaPeer({ jar: javaPeerJar('dubbo-provider'), ready: { log: /^PEER READY/ }, timeoutMs: 20_000 }),
    (err: Error) => /exited \(exit code 2\)/.test(err.message) && /usage: --registry=/.test(err.message),
  );
});

test('spring-service registers in Eureka UP with its weight, answers, and stop() deregisters it', async () => {
  const svc = await startSpringService({ name: 'orders', eurekaUrl: eureka.url, weight: 5 });
  peers.push(svc);
  const [inst] = await eventually('orders in /eureka/apps', async () => {
    const list = await eurekaInstances(eureka, 'orders');
    return list.length > 0 ? list : undefined;
  });
  assert.equal(inst?.instanceId, svc.instanceId);
  assert.equal(inst?.status, 'UP');
  assert.equal(inst?.port.$, svc.port);
  assert.equal(inst?.metadata.weight, '5');

  const hello = await http(`${svc.url}/hello`);
  assert.deepEqual(JSON.parse(hello.body), { service: 'orders', instance: svc.instanceId, port: svc.port });
  const other = await http(`${svc.url}/a/b?x=1`);
  assert.deepEqual(JSON.parse(other.body), {
    service: 'orders',
    instance: svc.instanceId,
    port: svc.port,
    path: '/a/b',
  });

  await svc.stop();
  assert.deepEqual(await eurekaInstances(eureka, 'orders'), []);
});

test('spring-service registers in ZooKeeper under /services/<name>; kill() leaves the node to session expiry', async () => {
  const svc = await startSpringService({ name: 'billing', zookeeper: zkServer.connectString, weight: 3 });
  peers.push(svc);
  assert.deepEqual(await zkChildren(zk, '/services/billing'), [svc.instanceId]);
  const data = await new Promise<Buffer>((resolve, reject) =>
    zk.getData(`/services/billing/${svc.instanceId}`, (err, d) => (err ? reject(err) : resolve(d))),
  );
  const node = JSON.parse(data.toString('utf8')) as {
    address: string;
    port: number;
    payload: { metadata: Record<string, string> };
  };
  assert.equal(node.address, '127.0.0.1');
  assert.equal(node.port, svc.port);
  assert.equal(node.payload.metadata.weight, '3');

  await svc.kill();
  // A crash deregisters nothing: the process is gone but its ephemeral node outlives it until the session expires.
  await assert.rejects(http(`${svc.url}/hello`), /ECONNREFUSED/);
  assert.deepEqual(await zkChildren(zk, '/services/billing'), [svc.instanceId]);
});

test('dubbo-provider registers interface- and application-level in ZooKeeper and answers JSON over HTTP/1', async () => {
  const provider = await startDubboProvider({
    registry: `zookeeper://${zkServer.connectString}`,
    name: 'demo-app',
    version: '1.0.0',
    group: 'g1',
    weight: 7,
  });
  peers.push(provider);
  const urls = (await zkChildren(zk, '/dubbo/com.example.DemoService/providers')).map(decodeURIComponent);
  const tri = urls.find((u) => u.startsWith('tri://'));
  const dubbo = urls.find((u) => u.startsWith('dubbo://'));
  assert.match(tri ?? '', new RegExp(`^tri://[^/]+:${provider.triPort}/com\\.example\\.DemoService\\?`));
  assert.match(dubbo ?? '', new RegExp(`^dubbo://[^/]+:${provider.dubboPort}/com\\.example\\.DemoService\\?`));
  for (const param of ['version=1.0.0', 'group=g1', 'weight=7', 'methods=sayHello', 'side=provider']) {
    assert.ok(tri?.includes(param), `${param} in ${tri}`);
  }
  assert.equal((await zkChildren(zk, '/services/demo-app')).length, 1);

  const reply = await http(`http://127.0.0.1:${provider.triPort}/com.example.DemoService/sayHello`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '["bob"]',
  });
  assert.equal(reply.status, 200);
  assert.equal(JSON.parse(reply.body), `hello bob from demo-app:${provider.triPort}`);

  await provider.stop();
  assert.deepEqual(await zkChildren(zk, '/dubbo/com.example.DemoService/providers'), []);
  assert.deepEqual(await zkChildren(zk, '/services/demo-app'), []);
});
