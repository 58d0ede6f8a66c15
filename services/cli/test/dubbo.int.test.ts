/**
 * HTTP/JSON to Dubbo the whole way, as a user runs it: `portico standalone` with a ZooKeeper Registry, the real
 * Dubbo 3.3 provider registering there, and a Route whose backendRef has kind Dubbo. Discovery finds the
 * provider's `dubbo` endpoint; the transcoder calls it with hessian2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type DubboProviderPeer,
  startDubboProvider,
  startZooKeeper,
  waitUntil,
  type ZooKeeperServer,
} from '@portico/testkit';
import { start } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-dubbo-'));
let zk: ZooKeeperServer;
let provider: DubboProviderPeer;
let gateway: Awaited<ReturnType<typeof start>>;
let base: string;

before(async () => {
  zk = await startZooKeeper();
  provider = await startDubboProvider({ registry: `zookeeper://${zk.connectString}`, version: '1.0.0' });
  const config = join(dir, 'dubbo.yaml');
  writeFileSync(
    config,
    `apiVersion: portico.dev/v1
kind: Registry
metadata: {name: zk}
spec: {type: zookeeper, addresses: ["${zk.connectString}"]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: types}
spec:
  rules:
    - matches:
        - {path: {type: PathPrefix, value: /dubbo/com.example.TypesService/}}
        - {path: {type: PathPrefix, value: /prices}}
        - {path: {type: PathPrefix, value: /counters}}
      backendRefs: [{kind: Dubbo, registry: zk, name: com.example.TypesService, version: 1.0.0}]
---
apiVersion: portico.dev/v1
kind: RpcMapping
metadata: {name: types}
spec:
  interface: com.example.TypesService
  methods:
    - name: addPrice
      http: {method: GET, path: "/prices/{a}/plus/{b}"}
      params:
        - {from: path, name: a, type: java.math.BigDecimal}
        - {from: path, name: b, type: java.math.BigDecimal}
    - name: next
      http: {method: POST, path: /counters/next}
      params: [{from: query, name: v, type: long, required: true}]
`,
  );
  gateway = await start(
    ['standalone', '--config', config, '--proxy-port', '0', '--admin-port', '0', '--log-level', 'warn'],
    /portico listening: proxy http:\/\/[\d.]+:(\d+) admin/,
  );
  base = `http://127.0.0.1:${gateway.match[1]}`;
});

after(async () => {
  gateway?.child.kill('SIGTERM');
  await gateway?.exited;
  await provider?.stop();
  await zk?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (method: string, args: unknown) =>
  fetch(`${base}/dubbo/com.example.TypesService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });

test('a discovered Dubbo provider answers JSON calls: BigDecimal, long beyond 2^53, a POJO with a List', async () => {
  // Discovery writes the EndpointSet a moment after start: the first calls may find no endpoint yet (503).
  const price = await waitUntil('the provider to be discovered', async () => {
    const res = await post('addPrice', ['19.99', '0.01']);
    return res.status === 200 ? res.json() : undefined;
  });
  assert.equal(price, '20.00');
  const next = await post('next', ['9007199254740993']);
  assert.equal(next.status, 200);
  assert.equal(await next.json(), '9007199254740994');
  const order = {
    id: 7,
    customer: 'ada',
    total: '12.50',
    status: 'PAID',
    items: [{ sku: 'A-1', quantity: 2 }],
  };
  const echoed = await post('echoOrder', [order]);
  assert.equal(echoed.status, 200);
  const body = (await echoed.json()) as Record<string, unknown>;
  assert.equal(body.customer, 'ada');
  assert.equal(body.total, '12.50');
  assert.equal(body.status, 'PAID');
  assert.deepEqual(
    (body.items as Array<Record<string, unknown>>).map((i) => [i.sku, i.quantity]),
    [['A-1', 2]],
  );
});

test('a Java exception is a 500 naming its class; an unknown method a 404; bad JSON a 400', async () => {
  const failed = await post('fail', ['broken on purpose']);
  assert.equal(failed.status, 500);
  const f = (await failed.json()) as { error: { code: string; message: string } };
  assert.equal(f.error.code, 'PORTICO_ERR_DUBBO_EXCEPTION');
  assert.match(f.error.message, /com\.example\.TypesException: broken on purpose/);

  const unknown = await post('noSuchMethod', []);
  assert.equal(unknown.status, 404);

  const bad = await fetch(`${base}/dubbo/com.example.TypesService/addInt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '[1,',
  });
  assert.equal(bad.status, 400);
});

test('an RpcMapping gives methods REST paths: parameters from the path and the query, typed as declared', async () => {
  const sum = await fetch(`${base}/prices/19.99/plus/0.01`);
  assert.equal(sum.status, 200);
  assert.equal(await sum.json(), '20.00');
  const next = await fetch(`${base}/counters/next?v=9007199254740993`, { method: 'POST' });
  assert.equal(next.status, 200);
  assert.equal(await next.json(), '9007199254740994');
  const missing = await fetch(`${base}/counters/next`, { method: 'POST' });
  assert.equal(missing.status, 400);
  assert.match(JSON.stringify(await missing.json()), /query\.v/);
  const verb = await fetch(`${base}/prices/1/plus/2`, { method: 'DELETE' });
  assert.equal(verb.status, 405);
});
