/**
 * Discovery end to end with real peers: ZooKeeper (Debian's), Spring Cloud Zookeeper services and an Apache
 * Dubbo 3 provider (Java, e2e/peers) register themselves; `portico standalone` discovers them and routes real
 * requests to them. Registry changes (register, deregister, weight, out of service) show in where requests go;
 * ZooKeeper stopped under load loses no request, and what changed while it was away is picked up.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  type DubboProviderPeer,
  PORTICO_BIN,
  type PorticoProcess,
  type SpringServicePeer,
  startDubboProvider,
  startPortico,
  startSpringService,
  startZooKeeper,
  waitUntil,
  type ZooKeeperServer,
} from '@portico/testkit';
import zookeeper from 'node-zookeeper-client';
import { countBy, runLoad, SYNC_WAIT } from './helpers.ts';

let zk: ZooKeeperServer;
let portico: PorticoProcess;
let dubbo: DubboProviderPeer;
const spring: SpringServicePeer[] = [];

const config = (zkAddress: string) => `
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: zk}
spec: {type: zookeeper, addresses: ["${zkAddress}"], refreshInterval: 2s}
---
apiVersion: portico.dev/v1
kind: Service
metadata: {name: orders}
spec:
  discovery: {registry: zk, name: orders}
  outlierDetection: {consecutiveConnectFailures: 1, consecutive5xx: 3, baseEjectionTime: 30s, maxEjectionPercent: 100}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: orders}
spec:
  rules:
    - matches: [{path: {type: PathPrefix, value: /orders}}]
      backendRefs: [{name: orders}]
      # minRetryConcurrency: the load below runs 4 requests at once, and all 4 may be on the instance that
      # crashes; the default budget (3 concurrent retries) would fail the 4th by design.
      retry: {attempts: 3, codes: [502, 503], minRetryConcurrency: 4}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules:
    - matches: [{path: {type: PathPrefix, value: /com.example.DemoService}}]
      backendRefs: [{registry: zk, name: com.example.DemoService, version: 1.0.0, group: g1}]
`;

/** Which Spring instance (by port) answered each of n requests to /orders. */
async function spread(n: number): Promise<Map<string, number>> {
  return countBy(n, async () => {
    const res = await fetch(`${portico.proxyUrl}/orders/list`);
    const body = (await res.json()) as { port?: number };
    return res.status === 200 ? String(body.port) : `status ${res.status}`;
  });
}

function zkClient(): Promise<zookeeper.Client> {
  const client = zookeeper.createClient(zk.connectString, { sessionTimeout: 5000 });
  return new Promise((resolve) => {
    client.once('connected', () => resolve(client));
    client.connect();
  });
}

/** Rewrites a Spring Cloud Zookeeper instance node's metadata, as an operator tool would. */
async function editInstance(peer: SpringServicePeer, metadata: Record<string, string>): Promise<void> {
  const client = await zkClient();
  const path = `/services/${peer.name}/${peer.instanceId}`;
  try {
    const data = await new Promise<Buffer>((resolve, reject) =>
      client.getData(path, (err, d) => (err ? reject(err) : resolve(d as Buffer))),
    );
    const json = JSON.parse(data.toString()) as { payload: { metadata: Record<string, string> } };
    Object.assign(json.payload.metadata, metadata);
    await new Promise<void>((resolve, reject) =>
      client.setData(path, Buffer.from(JSON.stringify(json)), -1, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    client.close();
  }
}

before(async () => {
  zk = await startZooKeeper();
  const [a, b, provider] = await Promise.all([
    startSpringService({ name: 'orders', zookeeper: zk.connectString, weight: 1 }),
    startSpringService({ name: 'orders', zookeeper: zk.connectString, weight: 3 }),
    startDubboProvider({
      registry: `zookeeper://${zk.connectString}`,
      name: 'demo-app',
      version: '1.0.0',
      group: 'g1',
    }),
  ]);
  spring.push(a, b);
  dubbo = provider;
  portico = await startPortico({ config: config(zk.connectString) });
});

after(async () => {
  await portico?.stop();
  await Promise.all([...spring.map((s) => s.stop()), dubbo?.stop()]);
  await zk?.stop();
});

describe('ZooKeeper', () => {
  test('Spring Cloud instances are routed by their weights (1:3)', async () => {
    const [a, b] = spring as [SpringServicePeer, SpringServicePeer];
    await waitUntil('both instances routed', async () => (await spread(20)).size === 2, SYNC_WAIT);
    const counts = await spread(200);
    const ratio = (counts.get(String(b.port)) ?? 0) / (counts.get(String(a.port)) ?? 1);
    assert.ok(ratio > 2 && ratio < 4.5, `expected about 3:1, got ${JSON.stringify([...counts])}`);
  });

  test('a Dubbo interface (version, group) is called over triple with a JSON body', async () => {
    const res = await fetch(`${portico.proxyUrl}/com.example.DemoService/sayHello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '["bob"]',
    });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), `hello bob from demo-app:${dubbo.triPort}`);
  });

  test('portico get endpoints / get services show what was discovered and from where', () => {
    const endpoints = spawnSync(
      process.execPath,
      [PORTICO_BIN, 'get', 'endpoints', 'orders', '--server', portico.adminUrl],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(endpoints.status, 0, endpoints.stderr);
    for (const peer of spring)
      assert.match(endpoints.stdout, new RegExp(`zk\\s+orders\\s+127\\.0\\.0\\.1\\s+${peer.port}\\s`));
    const services = spawnSync(process.execPath, [PORTICO_BIN, 'get', 'services', '--server', portico.adminUrl], {
      encoding: 'utf8',
    });
    assert.equal(services.status, 0, services.stderr);
    assert.match(
      services.stdout,
      /registry=zk service=providers:com\.example\.DemoService:1\.0\.0:g1 endpoints=\d+\/\d+/,
    );
    assert.match(services.stdout, /registry=zk service=orders endpoints=2\/2/);
  });

  test('an instance marked OUT_OF_SERVICE gets no traffic; back UP with a new weight, the split follows it', async () => {
    const [a, b] = spring as [SpringServicePeer, SpringServicePeer];
    await editInstance(b, { instance_status: 'OUT_OF_SERVICE' });
    await waitUntil('all traffic on a', async () => (await spread(10)).get(String(a.port)) === 10, SYNC_WAIT);
    await editInstance(b, { instance_status: 'UP' });
    await editInstance(a, { weight: '9' });
    await waitUntil('b back', async () => (await spread(10)).size === 2, SYNC_WAIT);
    const counts = await spread(200);
    const ratio = (counts.get(String(a.port)) ?? 0) / (counts.get(String(b.port)) ?? 1);
    assert.ok(ratio > 1.8 && ratio < 5, `expected a:b about 3:1 (9:3), got ${JSON.stringify([...counts])}`);
  });

  test('deregistered instances stop getting traffic; a new one starts getting it', async () => {
    const [a] = spring as [SpringServicePeer];
    const c = await startSpringService({ name: 'orders', zookeeper: zk.connectString });
    spring.push(c);
    await waitUntil('c routed', async () => (await spread(30)).has(String(c.port)), SYNC_WAIT);
    await a.stop();
    spring.splice(spring.indexOf(a), 1);
    await waitUntil('a gone', async () => !(await spread(20)).has(String(a.port)), SYNC_WAIT);
  });

  test('malformed registrations are skipped with a log line; the good ones keep flowing', async () => {
    const client = await zkClient();
    const bad = [
      // port out of range, and a broken percent-escape
      encodeURIComponent('tri://127.0.0.1:70000/com.example.DemoService?version=1.0.0&group=g1&side=provider'),
      'tri%3A%2F%2F127.0.0.1%3A1%2Fcom.example.DemoService%3Fversion%3D1.0.0%ZZ',
    ];
    try {
      for (const name of bad)
        await new Promise<void>((resolve, reject) =>
          client.create(`/dubbo/com.example.DemoService/providers/${name}`, (err) => (err ? reject(err) : resolve())),
        );
    } finally {
      client.close();
    }
    await waitUntil(
      'two skip log lines',
      () => (portico.output().match(/malformed registration skipped/g) ?? []).length >= 2,
      SYNC_WAIT,
    );
    assert.match(await metrics(), /portico_discovery_skipped_total\{registry="zk"\} [2-9]/);
    const res = await fetch(`${portico.proxyUrl}/com.example.DemoService/sayHello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '["eve"]',
    });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), `hello eve from demo-app:${dubbo.triPort}`);
  });

  test('ZooKeeper stopped under load: no request fails; back, a crash that happened meanwhile is picked up', async () => {
    const load = runLoad(`${portico.proxyUrl}/orders/x`, 4);
    await new Promise((r) => setTimeout(r, 1000));
    await zk.stop();
    await waitUntil(
      'stale',
      async () => /portico_discovery_stale\{registry="zk",service="orders"\} 1/.test(await metrics()),
      SYNC_WAIT,
    );
    // While ZooKeeper is away an instance crashes: retries and outlier ejection keep clients whole.
    const victim = spring.pop()!;
    await victim.kill();
    await new Promise((r) => setTimeout(r, 2000));
    await zk.restart();
    await waitUntil(
      'resynced',
      async () => /portico_discovery_stale\{registry="zk",service="orders"\} 0/.test(await metrics()),
      { ...SYNC_WAIT, timeoutMs: 30_000 },
    );
    // The crashed instance's session expires now that ZooKeeper is back: its node goes, and so does its endpoint.
    await waitUntil(
      'crashed instance removed',
      async () => !new RegExp(`127\\.0\\.0\\.1\\s+${victim.port}\\s`).test(getEndpoints()),
      { ...SYNC_WAIT, timeoutMs: 30_000 },
    );
    const result = await load.stop();
    assert.deepEqual(result.failed, [], `failed requests: ${JSON.stringify(result.failed.slice(0, 5))}`);
    assert.ok(result.ok > 100, `load ran (${result.ok} ok)`);
  });
});

async function metrics(): Promise<string> {
  return (await fetch(`${portico.adminUrl}/metrics`)).text();
}

function getEndpoints(): string {
  return spawnSync(process.execPath, [PORTICO_BIN, 'get', 'endpoints', 'orders', '--server', portico.adminUrl], {
    encoding: 'utf8',
  }).stdout;
}
