/**
 * Discovery end to end with a real Nacos 3.1 server (e2e/peers/nacos-server): Node backends registered through
 * Nacos's v1 naming API and an Apache Dubbo 3 provider registered by its own nacos-client. `portico standalone`
 * routes real requests by what Nacos says: weights, disabled instances, deregistration, Dubbo triple calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Backend,
  type DubboProviderPeer,
  type NacosServer,
  type PorticoProcess,
  startDubboProvider,
  startEchoBackend,
  startNacos,
  startPortico,
  waitUntil,
} from '@portico/testkit';
import { countBy, SYNC_WAIT } from './helpers.ts';

let nacos: NacosServer;
let portico: PorticoProcess;
let dubbo: DubboProviderPeer;
let echoes: Backend[];

// Ephemeral instances registered over HTTP without a heartbeat loop: keep them for the test's length.
const NO_EXPIRY = {
  'preserved.heart.beat.interval': '5000',
  'preserved.heart.beat.timeout': '600000',
  'preserved.ip.delete.timeout': '600000',
};

async function instance(method: 'POST' | 'PUT' | 'DELETE', b: Backend, weight = 1, enabled = true): Promise<void> {
  const params = new URLSearchParams({
    serviceName: 'catalog',
    groupName: 'DEFAULT_GROUP',
    namespaceId: 'public',
    ip: '127.0.0.1',
    port: String(b.port),
    clusterName: 'DEFAULT',
    ephemeral: 'true',
  });
  if (method !== 'DELETE') {
    params.set('weight', String(weight));
    params.set('enabled', String(enabled));
    params.set('metadata', JSON.stringify(NO_EXPIRY));
  }
  const res = await fetch(`${nacos.url}/v1/ns/instance?${params}`, { method });
  assert.equal(res.status, 200, `${method} instance: ${await res.text()}`);
}

const config = () => `
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: nacos}
spec: {type: nacos, addresses: ["${nacos.address}"], refreshInterval: 5s}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: catalog}
spec:
  rules:
    - matches: [{path: {value: /catalog}}]
      backendRefs: [{registry: nacos, name: catalog}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules:
    - matches: [{path: {value: /com.example.DemoService}}]
      backendRefs: [{registry: nacos, name: "providers:com.example.DemoService:1.0.0:"}]
`;

const spread = (n: number) =>
  countBy(n, async () => {
    const res = await fetch(`${portico.proxyUrl}/catalog/items`);
    const body = (await res.json()) as { backend?: string };
    return res.status === 200 ? String(body.backend) : `status ${res.status}`;
  });

before(async () => {
  [nacos, echoes] = await Promise.all([startNacos(), Promise.all(['n1', 'n2', 'n3'].map((n) => startEchoBackend(n)))]);
  dubbo = await startDubboProvider({ registry: `nacos://${nacos.address}`, name: 'demo-nacos', version: '1.0.0' });
  await instance('POST', echoes[0]!, 1);
  await instance('POST', echoes[1]!, 3);
  portico = await startPortico({ config: config() });
});

after(async () => {
  await portico?.stop();
  await dubbo?.stop();
  await nacos?.stop();
  await Promise.all((echoes ?? []).map((b) => b.close()));
});

describe('Nacos (real server)', () => {
  test('instances are routed by their Nacos weights (1:3)', async () => {
    await waitUntil('both routed', async () => (await spread(20)).size === 2, SYNC_WAIT);
    const counts = await spread(200);
    const ratio = (counts.get('n2') ?? 0) / (counts.get('n1') ?? 1);
    assert.ok(ratio > 2 && ratio < 4.5, `expected about 3:1, got ${JSON.stringify([...counts])}`);
  });

  test('a disabled instance gets no traffic; enabled again with a new weight, the split follows', async () => {
    await instance('PUT', echoes[1]!, 3, false);
    await waitUntil('only n1', async () => (await spread(10)).get('n1') === 10, SYNC_WAIT);
    await instance('PUT', echoes[1]!, 9, true);
    await waitUntil('n2 back with weight 9', async () => ((await spread(40)).get('n2') ?? 0) > 30, SYNC_WAIT);
  });

  test('register and deregister', async () => {
    await instance('POST', echoes[2]!, 1);
    await waitUntil('n3 routed', async () => (await spread(40)).has('n3'), SYNC_WAIT);
    await instance('DELETE', echoes[2]!);
    await waitUntil('n3 gone', async () => !(await spread(20)).has('n3'), SYNC_WAIT);
  });

  test('a Dubbo 3 provider registered in Nacos is called over triple', async () => {
    await waitUntil(
      'the provider answers through Portico',
      async () => {
        const res = await fetch(`${portico.proxyUrl}/com.example.DemoService/sayHello`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '["ann"]',
        });
        const text = await res.text();
        return res.status === 200 && text === JSON.stringify(`hello ann from demo-nacos:${dubbo.triPort}`);
      },
      SYNC_WAIT,
    );
  });
});
