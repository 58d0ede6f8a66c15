/**
 * The ZooKeeper source's Dubbo service definitions, against a real ZooKeeper: the Dubbo 3.3 provider of e2e/peers
 * publishes its FullServiceDefinition to the metadata report
 * (`/dubbo/metadata/<interface>[/<version>][/<group>]/provider/<application>`), and the tests rewrite such nodes
 * with node-zookeeper-client as the provider would. The registry restart runs last.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type DubboProviderPeer,
  startDubboProvider,
  startZooKeeper,
  waitUntil,
  type ZooKeeperServer,
} from '@portico/testkit';
import { ACL, type Client, CreateMode, createClient, Id, Permission } from 'node-zookeeper-client';
import type { DiscoveredService, SpecOf } from '../src/index.ts';
import { zookeeperSource } from '../src/sources/zookeeper/zookeeper-source.ts';
import { RecordingSink } from './recording-sink.ts';

const WAIT = { timeoutMs: 15_000 };
const TYPES = 'com.example.TypesService';
const TYPES_SERVICE = `providers:${TYPES}::`;
const APP = 'dubbo-provider';

type WithDefinition = DiscoveredService & { serviceDefinition?: string };

interface Definition {
  canonicalName: string;
  methods: Array<{ name: string; parameterTypes: string[]; returnType: string }>;
}

function call<T>(fn: (cb: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

async function connectWriter(connectString: string): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: 30_000 });
  client.addAuthInfo('digest', Buffer.from('writer:secret'));
  const connected = new Promise<void>((resolve) => client.once('connected', resolve));
  client.connect();
  await connected;
  return client;
}

function spec(root: string): SpecOf<'zookeeper'> {
  return {
    type: 'zookeeper',
    addresses: [zk.connectString],
    dubboRoot: root,
    servicesRoot: `${root}-services`,
    sessionTimeout: '6s',
    refreshInterval: '30s',
  };
}

function startSource(t: { after(fn: () => Promise<void>): void }, root: string) {
  const sink = new RecordingSink();
  const source = zookeeperSource({ name: 'zk', spec: spec(root), sink });
  t.after(() => source.stop());
  return { sink, started: source.start() };
}

const service = (sink: RecordingSink, name: string) => sink.services.get(name) as WithDefinition | undefined;

/** A provider registration under `root` as Dubbo's ZookeeperRegistry writes it (URL-encoded child name). */
async function register(root: string, iface: string, port: number, params: Record<string, string>): Promise<void> {
  const query = new URLSearchParams({ interface: iface, side: 'provider', methods: 'm', ...params }).toString();
  const child = encodeURIComponent(`dubbo://127.0.0.1:${port}/${iface}?${query}`);
  const dir = `${root}/${iface}/providers`;
  await call((cb) => writer.mkdirp(dir, cb));
  await call((cb) => writer.create(`${dir}/${child}`, Buffer.from('127.0.0.1'), CreateMode.EPHEMERAL, cb));
}

/** Creates or rewrites a node's data (parents made as needed). */
async function write(path: string, data: string | Buffer): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const exists = await call((cb) => writer.exists(path, cb));
  if (exists) await call((cb) => writer.setData(path, bytes, -1, cb));
  else await call((cb) => writer.mkdirp(path, bytes, cb));
}

/** Restarts ZooKeeper, waits for the source's next snapshot and the writer's session; `name` as that snapshot has it. */
async function restartRegistry(sink: RecordingSink, name: string): Promise<WithDefinition | undefined> {
  const snapshots = sink.calls.filter((c) => c.type === 'snapshot').length;
  const downs = sink.calls.filter((c) => c.type === 'down').length;
  await zk.restart();
  await waitUntil(
    'a snapshot after the restart',
    () => sink.calls.filter((c) => c.type === 'snapshot').length > snapshots,
    { timeoutMs: 30_000 },
  );
  assert.ok(sink.calls.filter((c) => c.type === 'down').length > downs, 'down() during the restart');
  await waitUntil('the writer back', () => writer.getState().name === 'SYNC_CONNECTED', { timeoutMs: 30_000 });
  const last = sink.calls.findLast((c) => c.type === 'snapshot');
  return last?.type === 'snapshot' ? (last.services as WithDefinition[]).find((s) => s.name === name) : undefined;
}

const definitionOf = (methods: string[]) =>
  JSON.stringify({
    canonicalName: 'com.example.Defs',
    methods: methods.map((name) => ({ name, parameterTypes: ['java.lang.String'], returnType: 'java.lang.String' })),
    types: [],
  });

let zk: ZooKeeperServer;
let writer: Client;
let provider: DubboProviderPeer;

before(async () => {
  zk = await startZooKeeper();
  writer = await connectWriter(zk.connectString);
  provider = await startDubboProvider({ registry: `zookeeper://${zk.connectString}` });
});

after(async () => {
  await provider?.stop();
  writer?.close();
  await zk?.stop();
});

describe('ZooKeeper source: Dubbo service definitions', () => {
  test('the real provider: TypesService carries its definition, and a rewritten definition is republished', async (t) => {
    const { sink, started } = startSource(t, '/dubbo');
    await started;
    const first = await waitUntil(
      'TypesService with its definition',
      () => service(sink, TYPES_SERVICE)?.serviceDefinition !== undefined && service(sink, TYPES_SERVICE),
      WAIT,
    );
    const definition = JSON.parse(first.serviceDefinition ?? '') as Definition;
    assert.equal(definition.canonicalName, TYPES);
    const addPrice = definition.methods.find((m) => m.name === 'addPrice');
    assert.ok(addPrice, 'addPrice is in the published definition');
    assert.deepEqual(addPrice.parameterTypes, ['java.math.BigDecimal', 'java.math.BigDecimal']);
    assert.ok(first.endpoints.length >= 2, 'the dubbo and tri endpoints are there too');

    // The provider redeployed with one more method rewrites the node.
    const path = `/dubbo/metadata/${TYPES}/provider/${APP}`;
    const grown = JSON.parse(await call<Buffer>((cb) => writer.getData(path, cb)).then(String));
    grown.methods.push({ name: 'addedLater', parameterTypes: ['java.lang.String'], returnType: 'java.lang.String' });
    await write(path, JSON.stringify(grown));
    const second = await waitUntil(
      'the rewritten definition',
      () => service(sink, TYPES_SERVICE)?.serviceDefinition?.includes('addedLater') && service(sink, TYPES_SERVICE),
      WAIT,
    );
    assert.notEqual(second.revision, first.revision, 'a new definition is a new revision');
    assert.deepEqual(second.endpoints, first.endpoints);
    const update = sink.calls.findLast((c) => c.type === 'update');
    assert.equal(update?.type === 'update' && update.service.name, TYPES_SERVICE, 'sent as an update');
  });

  test('path segments, the first provider application, a node created late, deleted, and over the limit', async (t) => {
    const root = '/d2';
    const iface = 'com.example.Defs';
    // Version and group: both segments; the first provider (child order) names the application.
    await register(root, iface, 20001, { version: '1.0.0', group: 'g1', application: 'app-a' });
    await register(root, iface, 20002, { version: '1.0.0', group: 'g1', application: 'app-b' });
    await write(`${root}/metadata/${iface}/1.0.0/g1/provider/app-a`, definitionOf(['fromA']));
    await write(`${root}/metadata/${iface}/1.0.0/g1/provider/app-b`, definitionOf(['fromB']));
    // Group only: no version segment. No node yet.
    await register(root, iface, 20003, { group: 'g2', application: 'app-a' });

    const { sink, started } = startSource(t, root);
    await started;
    const both = `providers:${iface}:1.0.0:g1`;
    const groupOnly = `providers:${iface}::g2`;
    const snapshot = sink.calls.find((c) => c.type === 'snapshot');
    const listed = snapshot?.type === 'snapshot' ? (snapshot.services as WithDefinition[]) : [];
    assert.match(listed.find((s) => s.name === both)?.serviceDefinition ?? '', /"fromA"/, 'in the first snapshot');
    assert.equal(service(sink, groupOnly)?.serviceDefinition, undefined, 'no node: no definition');
    assert.match(service(sink, groupOnly)?.revision ?? '', /^[0-9]+$/, 'no definition: the providers pzxid');

    // Created after the listing: the existence watch sees it.
    await write(`${root}/metadata/${iface}/g2/provider/app-a`, definitionOf(['late']));
    await waitUntil('the late definition', () => service(sink, groupOnly)?.serviceDefinition?.includes('"late"'), WAIT);

    // Deleted: the field goes.
    await call<void>((cb) =>
      writer.remove(`${root}/metadata/${iface}/g2/provider/app-a`, -1, (err) => cb(err, undefined)),
    );
    await waitUntil('no definition', () => service(sink, groupOnly)?.serviceDefinition === undefined, WAIT);

    // Over EndpointSet's limit (512 Ki characters): left out, reported.
    const big = definitionOf(['big']).replace('"types":[]', `"types":[],"pad":"${'x'.repeat(600 * 1024)}"`);
    await write(`${root}/metadata/${iface}/1.0.0/g1/provider/app-a`, Buffer.from(big));
    await waitUntil('the big definition left out', () => service(sink, both)?.serviceDefinition === undefined, WAIT);
    const skipped = sink.calls.filter((c) => c.type === 'skipped' && c.service === both);
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]?.type === 'skipped' ? skipped[0].reason : '', /over EndpointSet's limit/);
    assert.ok(service(sink, both)?.endpoints.length === 2, 'the endpoints stay');
  });

  test('across registry restarts: kept, re-read and watched again; one that cannot be read keeps the last', async (t) => {
    const root = '/d4';
    const iface = 'com.example.Restarted';
    const name = `providers:${iface}::`;
    const path = `${root}/metadata/${iface}/provider/app-r`;
    await register(root, iface, 20020, { application: 'app-r' });
    // Persistent, as the restart ends the writer's session (and its ephemeral registrations).
    const dir = `${root}/${iface}/providers`;
    const child = encodeURIComponent(`dubbo://127.0.0.1:20021/${iface}?interface=${iface}&application=app-r`);
    await call((cb) => writer.create(`${dir}/${child}`, Buffer.from(''), CreateMode.PERSISTENT, cb));
    await write(path, definitionOf(['before']));
    const { sink, started } = startSource(t, root);
    await started;
    assert.match(service(sink, name)?.serviceDefinition ?? '', /"before"/);

    assert.match((await restartRegistry(sink, name))?.serviceDefinition ?? '', /"before"/, 'in the snapshot after it');
    await write(path, definitionOf(['afterRestart']));
    await waitUntil(
      'the watch set again',
      () => service(sink, name)?.serviceDefinition?.includes('afterRestart'),
      WAIT,
    );

    // Only the writer may read it from now on (ZooKeeper then sends the source no watch event for it either): the
    // read after the next restart fails, and the last definition stays.
    const digest = createHash('sha1').update('writer:secret').digest('base64');
    const writerOnly = [new ACL(Permission.ALL, new Id('digest', `writer:${digest}`))];
    await call((cb) => writer.setACL(path, writerOnly, -1, cb));
    const kept = await restartRegistry(sink, name);
    assert.match(kept?.serviceDefinition ?? '', /"afterRestart"/, 'the last definition stays');
    assert.ok(
      sink.calls.some((c) => c.type === 'skipped' && c.service === name && /cannot read .*app-r/.test(c.reason)),
      'the failed read is reported',
    );
  });
});
