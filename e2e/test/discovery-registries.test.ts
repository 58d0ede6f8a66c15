/**
 * Discovery end to end for Eureka (a real Spring Cloud Netflix Eureka server with Spring Boot services
 * registering in it), Consul (the documented stand-in, e2e/testkit/src/standins/consul.ts, with Node backends
 * registering through its agent API), DNS (a real dnsmasq serving SRV records) and a static Registry. Each registry
 * change shows in where `portico standalone` sends real requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type Backend,
  type ConsulStandIn,
  type DnsmasqServer,
  type DnsRecords,
  type EurekaServerPeer,
  type PorticoProcess,
  type SpringServicePeer,
  startConsulStandIn,
  startDnsmasq,
  startEchoBackend,
  startEurekaServer,
  startPortico,
  startSpringService,
  waitUntil,
} from '@portico/testkit';
import { countBy, SYNC_WAIT } from './helpers.ts';

let eureka: EurekaServerPeer;
let consul: ConsulStandIn;
let dns: DnsmasqServer;
let portico: PorticoProcess;
const spring: SpringServicePeer[] = [];
let echoes: Backend[];

const config = () => `
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: eureka}
spec: {type: eureka, addresses: ["${eureka.url}"], deltaInterval: 1s, refreshInterval: 30s}
---
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: consul}
spec: {type: consul, addresses: ["${consul.address}"], wait: 5s}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: billing}
spec:
  rules:
    - matches: [{path: {value: /billing}}]
      backendRefs: [{registry: eureka, name: billing}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: inventory}
spec:
  rules:
    - matches: [{path: {value: /inventory}}]
      backendRefs: [{registry: consul, name: inventory}]
---
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: dns}
spec:
  type: dns
  addresses: ["${dns.address}"]
  names: [{name: search, host: _http._tcp.search.test, type: SRV}]
---
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: fixed}
spec:
  type: static
  static: [{name: legacy, endpoints: [{address: 127.0.0.1, port: ${echoes[2]!.port}}]}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: search}
spec:
  rules:
    - matches: [{path: {value: /search}}]
      backendRefs: [{registry: dns, name: search}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: legacy}
spec:
  rules:
    - matches: [{path: {value: /legacy}}]
      backendRefs: [{registry: fixed, name: legacy}]
`;

/** SRV records for `search`: each echo backend's port behind one A record, with these weights (0 = no record). */
function srvRecords(weights: number[]): DnsRecords {
  return {
    hosts: { 'echo.test': ['127.0.0.1'] },
    srv: {
      '_http._tcp.search.test': weights.flatMap((weight, i) =>
        weight === 0 ? [] : [{ target: 'echo.test', port: echoes[i]!.port, priority: 10, weight }],
      ),
    },
  };
}

async function spread(path: string, n: number, key: (body: Record<string, unknown>) => string) {
  return countBy(n, async () => {
    const res = await fetch(`${portico.proxyUrl}${path}`);
    const body = (await res.json()) as Record<string, unknown>;
    return res.status === 200 ? key(body) : `status ${res.status}`;
  });
}

const bySpringPort = (b: Record<string, unknown>) => String(b.port);
const byBackend = (b: Record<string, unknown>) => String(b.backend);

async function eurekaPut(peer: SpringServicePeer, what: string): Promise<void> {
  const res = await fetch(`${eureka.url}apps/${peer.name.toUpperCase()}/${peer.instanceId}/${what}`, { method: 'PUT' });
  assert.equal(res.status, 200, `PUT ${what}: ${res.status}`);
}

async function consulPut(path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${consul.url}${path}`, {
    method: 'PUT',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.equal(res.status, 200, `PUT ${path}: ${res.status} ${await res.text()}`);
}

const register = (b: Backend, weight = 1) =>
  consulPut('/v1/agent/service/register', {
    ID: `inventory-${b.name}`,
    Name: 'inventory',
    Address: '127.0.0.1',
    Port: b.port,
    Weights: { Passing: weight, Warning: 1 },
    Check: { TTL: '60s', Status: 'passing' },
  });

before(async () => {
  [eureka, consul, echoes] = await Promise.all([
    startEurekaServer(),
    startConsulStandIn(),
    Promise.all(['i1', 'i2', 'i3'].map((n) => startEchoBackend(n))),
  ]);
  dns = await startDnsmasq({ records: srvRecords([1, 3]) });
  spring.push(
    ...(await Promise.all([
      startSpringService({ name: 'billing', eurekaUrl: eureka.url, weight: 1 }),
      startSpringService({ name: 'billing', eurekaUrl: eureka.url, weight: 3 }),
    ])),
  );
  await register(echoes[0]!, 1);
  await register(echoes[1]!, 3);
  portico = await startPortico({ config: config() });
});

after(async () => {
  await portico?.stop();
  await Promise.all(spring.map((s) => s.stop()));
  await eureka?.stop();
  await consul?.stop();
  await dns?.stop();
  await Promise.all((echoes ?? []).map((b) => b.close()));
});

describe('Eureka', () => {
  test('UP instances are routed by their metadata weights (1:3)', async () => {
    const [a, b] = spring as [SpringServicePeer, SpringServicePeer];
    await waitUntil('both routed', async () => (await spread('/billing', 20, bySpringPort)).size === 2, SYNC_WAIT);
    const counts = await spread('/billing', 200, bySpringPort);
    const ratio = (counts.get(String(b.port)) ?? 0) / (counts.get(String(a.port)) ?? 1);
    assert.ok(ratio > 2 && ratio < 4.5, `expected about 3:1, got ${JSON.stringify([...counts])}`);
  });

  test('OUT_OF_SERVICE gets no traffic; back UP with a new weight, the split follows', async () => {
    const [a, b] = spring as [SpringServicePeer, SpringServicePeer];
    await eurekaPut(b, 'status?value=OUT_OF_SERVICE');
    await waitUntil(
      'only a',
      async () => (await spread('/billing', 10, bySpringPort)).get(String(a.port)) === 10,
      SYNC_WAIT,
    );
    await eurekaPut(a, 'metadata?weight=9');
    // Removing the override puts the instance back to the status its client reports (UP).
    const res = await fetch(`${eureka.url}apps/BILLING/${b.instanceId}/status?value=UP`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    await waitUntil('b back', async () => (await spread('/billing', 20, bySpringPort)).size === 2, SYNC_WAIT);
    const counts = await spread('/billing', 200, bySpringPort);
    const ratio = (counts.get(String(a.port)) ?? 0) / (counts.get(String(b.port)) ?? 1);
    assert.ok(ratio > 1.8 && ratio < 5, `expected a:b about 3:1 (9:3), got ${JSON.stringify([...counts])}`);
  });

  test('a deregistered instance stops getting traffic; a newly registered one gets it', async () => {
    const c = await startSpringService({ name: 'billing', eurekaUrl: eureka.url });
    spring.push(c);
    await waitUntil(
      'c routed',
      async () => (await spread('/billing', 30, bySpringPort)).has(String(c.port)),
      SYNC_WAIT,
    );
    const a = spring.shift()!;
    await a.stop();
    await waitUntil('a gone', async () => !(await spread('/billing', 20, bySpringPort)).has(String(a.port)), SYNC_WAIT);
  });
});

describe('Consul (stand-in)', () => {
  test('passing instances are routed by Weights.Passing (1:3)', async () => {
    await waitUntil('both routed', async () => (await spread('/inventory', 20, byBackend)).size === 2, SYNC_WAIT);
    const counts = await spread('/inventory', 200, byBackend);
    const ratio = (counts.get('i2') ?? 0) / (counts.get('i1') ?? 1);
    assert.ok(ratio > 2 && ratio < 4.5, `expected about 3:1, got ${JSON.stringify([...counts])}`);
  });

  test('a failing check takes an instance out; passing again brings it back', async () => {
    await consulPut('/v1/agent/check/fail/service:inventory-i2?note=disk');
    await waitUntil('only i1', async () => (await spread('/inventory', 10, byBackend)).get('i1') === 10, SYNC_WAIT);
    await consulPut('/v1/agent/check/pass/service:inventory-i2');
    await waitUntil('i2 back', async () => (await spread('/inventory', 20, byBackend)).has('i2'), SYNC_WAIT);
  });

  test('register, change weight, deregister', async () => {
    await register(echoes[2]!, 10);
    await waitUntil(
      'i3 takes most',
      async () => ((await spread('/inventory', 30, byBackend)).get('i3') ?? 0) > 15,
      SYNC_WAIT,
    );
    await consulPut('/v1/agent/service/deregister/inventory-i3');
    await waitUntil('i3 gone', async () => !(await spread('/inventory', 20, byBackend)).has('i3'), SYNC_WAIT);
  });
});

describe('DNS (dnsmasq, SRV) and static', () => {
  test('SRV weights split the traffic; a changed answer moves it', async () => {
    await waitUntil(
      'both SRV targets routed',
      async () => (await spread('/search', 20, byBackend)).size === 2,
      SYNC_WAIT,
    );
    const counts = await spread('/search', 200, byBackend);
    const ratio = (counts.get('i2') ?? 0) / (counts.get('i1') ?? 1);
    assert.ok(ratio > 2 && ratio < 4.5, `expected about 3:1, got ${JSON.stringify([...counts])}`);
    await dns.setRecords(srvRecords([0, 1, 1]));
    await waitUntil(
      'i1 dropped, i3 added',
      async () => {
        const now = await spread('/search', 20, byBackend);
        return !now.has('i1') && now.has('i3');
      },
      SYNC_WAIT,
    );
  });

  test('a static Registry routes to its list', async () => {
    assert.deepEqual([...(await spread('/legacy', 5, byBackend))], [['i3', 5]]);
  });
});
