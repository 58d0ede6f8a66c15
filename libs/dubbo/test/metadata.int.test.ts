import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type DubboProviderPeer, startDubboProvider, startZooKeeper, type ZooKeeperServer } from '@portico/testkit';
import type { CallHandle, Headers, ResponseSink, UpstreamError } from '@portico/upstream';
import zookeeper from 'node-zookeeper-client';
import { DubboClient } from '../src/client.ts';
import {
  type DubboDefinitionLoader,
  DubboSignatureCache,
  type DubboSignatureCacheOptions,
  metadataServiceLoader,
} from '../src/metadata.ts';
import { DubboTranscoder } from '../src/transcoder.ts';

const TYPES = 'com.example.TypesService';
const VERSION = '1.0.0';
const GROUP = 'g1';
const APP = 'dubbo-provider';
const BASE = `/dubbo/${TYPES}`;

let zk: ZooKeeperServer;
let provider: DubboProviderPeer;
let zkClient: zookeeper.Client;
const closers: Array<{ close(): void }> = [];

/** The metadata report's copy of a definition, as the provider wrote it to ZooKeeper. */
const reportLoader: DubboDefinitionLoader = async (key) => {
  const base = `/dubbo/metadata/${key.interface}/${key.version}/${key.group}/provider`;
  const apps = await new Promise<string[]>((resolve, reject) =>
    zkClient.getChildren(base, (err, children) => (err ? reject(err) : resolve(children))),
  );
  const app = key.application ?? apps[0];
  if (app === undefined) return undefined;
  return new Promise<string>((resolve, reject) =>
    zkClient.getData(`${base}/${app}`, (err, data) => (err ? reject(err) : resolve(data.toString('utf8')))),
  );
};

function counted(load: DubboDefinitionLoader): DubboDefinitionLoader & { calls: number } {
  const wrapped = Object.assign(
    (key: Parameters<DubboDefinitionLoader>[0], signal: AbortSignal) => {
      wrapped.calls++;
      return load(key, signal);
    },
    { calls: 0 },
  );
  return wrapped;
}

/** The report's definition with `edit` applied to its parsed JSON. */
function edited(edit: (doc: { methods: Array<{ name: string; parameterTypes: string[] }> }) => void) {
  return async (...a: Parameters<DubboDefinitionLoader>) => {
    const doc = JSON.parse((await reportLoader(...a)) as string);
    edit(doc);
    return JSON.stringify(doc);
  };
}

function transcoder(load: DubboDefinitionLoader, cache: DubboSignatureCacheOptions = {}): DubboTranscoder {
  const t = new DubboTranscoder(
    'types',
    { pick: () => ({ address: '127.0.0.1', port: provider.dubboPort }) },
    {
      interface: TYPES,
      version: VERSION,
      group: GROUP,
      application: APP,
      timeoutMs: 3000,
      maxBodyBytes: 64 * 1024,
      signatures: new DubboSignatureCache(load, cache),
    },
  );
  closers.push(t);
  return t;
}

interface Answer {
  status: number;
  json: { error?: { code: string; message: string; details?: Array<{ path: string; message: string }> } } & unknown;
}

/** POSTs a JSON body through the transcoder and collects the whole answer. */
function call(t: DubboTranscoder, method: string, body: unknown, headers: Headers = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const sink: ResponseSink = {
      onResponseStart: (code: number, _h: Headers, _c: CallHandle) => {
        status = code;
        return true;
      },
      onResponseData: (chunk: Buffer) => {
        chunks.push(chunk);
        return true;
      },
      onResponseEnd: () => resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString()) }),
      onResponseError: (err: UpstreamError) => reject(err),
    };
    t.dispatch(
      {
        method: 'POST',
        path: `${BASE}/${method}`,
        headers: { 'content-type': 'application/json', ...headers },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
      },
      sink,
    );
  });
}

const order = {
  id: '9007199254740993',
  parentId: null,
  customer: 'ann',
  total: '12.50',
  createdAt: '2024-01-02T03:04:05',
  paidAt: '2024-01-02T03:05:00.000Z',
  status: 'SHIPPED',
  signature: Buffer.from('signed').toString('base64'),
  items: [
    { sku: 'a', quantity: 2, price: '6.25' },
    { sku: 'b', quantity: 1, price: null },
  ],
  extra: { note: 'x', n: 1 },
};

before(async () => {
  zk = await startZooKeeper();
  provider = await startDubboProvider({ registry: `zookeeper://${zk.connectString}`, version: VERSION, group: GROUP });
  zkClient = zookeeper.createClient(zk.connectString);
  const connected = new Promise<void>((resolve) => zkClient.once('connected', () => resolve()));
  zkClient.connect();
  await connected;
});

after(async () => {
  for (const c of closers) c.close();
  zkClient?.close();
  await provider?.stop();
  await zk?.stop();
});

describe('Dubbo method signatures from the provider metadata', () => {
  it('reads the signatures and POJO definitions the Dubbo 3.3 provider published', async () => {
    const cache = new DubboSignatureCache(reportLoader);
    const key = {
      endpoint: { host: '127.0.0.1', port: provider.dubboPort },
      interface: TYPES,
      version: VERSION,
      group: GROUP,
      application: APP,
    };
    const signatures = await cache.signatures(key);
    assert.ok(signatures, `no signatures: ${cache.errors.map(String).join('; ')}`);
    assert.equal(signatures.interface, TYPES);
    assert.deepEqual(signatures.methods.get('addPrice')?.[0]?.parameterTypes, [
      'java.math.BigDecimal',
      'java.math.BigDecimal',
    ]);
    assert.deepEqual(signatures.methods.get('countBySku')?.[0], {
      name: 'countBySku',
      parameterTypes: ['java.util.List<com.example.Order>'],
      returnType: 'java.util.Map<java.lang.String,java.lang.Integer>',
    });
    assert.equal(signatures.methods.size, 21);
    assert.deepEqual(signatures.types['com.example.Status'], { enums: ['NEW', 'PAID', 'SHIPPED'] });
    const orderFields = signatures.types['com.example.Order']?.properties;
    assert.equal(orderFields?.items, 'java.util.List<com.example.Item>');
    assert.equal(orderFields?.createdAt, 'java.time.LocalDateTime');
    assert.equal(orderFields?.paidAt, 'java.util.Date');
    assert.equal(orderFields?.signature, 'byte[]');
    assert.equal(signatures.types['com.example.Item']?.properties?.quantity, 'int');
    assert.equal(await cache.signatures(key), signatures, 'cached');
  });

  it('types calls without headers exactly: Date, byte[], long beyond 2^53, BigDecimal, an Order POJO', async () => {
    const t = transcoder(reportLoader);
    const cases: Array<[string, unknown, unknown]> = [
      ['plusDay', ['2024-02-28T12:00:00.123Z'], '2024-02-29T12:00:00.123Z'],
      ['reverse', [Buffer.from([0, 1, 2, 255]).toString('base64')], Buffer.from([255, 2, 1, 0]).toString('base64')],
      ['next', ['9223372036854775806'], '9223372036854775807'],
      ['boxedLong', ['-9007199254740999'], '-9007199254740999'],
      ['addPrice', ['12345678901234567890.000001', '0.1'], '12345678901234567890.100001'],
      ['nextStatus', ['PAID'], 'SHIPPED'],
      ['echoOrder', order, order],
      ['echoOrder', [order], order],
      ['countBySku', [[order, order]], { a: 4, b: 2 }],
      ['concat', ['a', 'b'], 'ab'],
    ];
    for (const [method, body, want] of cases) {
      const answer = await call(t, method, body);
      assert.equal(answer.status, 200, `${method}: ${JSON.stringify(answer.json)}`);
      assert.deepEqual(answer.json, want, `${method}(${JSON.stringify(body)})`);
    }
  });

  it('answers 400 with the field path and expected type from the published types', async () => {
    const t = transcoder(reportLoader);
    const badField = await call(t, 'echoOrder', [{ ...order, items: [{ sku: 'a', quantity: 'many' }] }]);
    assert.equal(badField.status, 400);
    assert.equal(badField.json.error?.code, 'PORTICO_ERR_DUBBO_ARGUMENT');
    assert.equal(badField.json.error?.details?.[0]?.path, 'args[0].items[0].quantity');
    const unknownField = await call(t, 'echoOrder', [{ ...order, bogus: 1 }]);
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.json.error?.details?.[0]?.path, 'args[0].bogus');
    const badEnum = await call(t, 'nextStatus', ['BOGUS']);
    assert.match(badEnum.json.error?.details?.[0]?.message ?? '', /one of NEW, PAID, SHIPPED/);
    const count = await call(t, 'addInt', [1]);
    assert.equal(count.status, 400);
    assert.match(count.json.error?.message ?? '', /no overload of addInt takes 1 arguments/);
  });

  it('answers 404 for a method the metadata lacks, after one re-read and without calling the provider', async () => {
    const load = counted(reportLoader);
    const t = transcoder(load, { minRefreshIntervalMs: 60_000 });
    const answer = await call(t, 'nope', ['x']);
    assert.equal(answer.status, 404);
    assert.equal(answer.json.error?.code, 'PORTICO_ERR_DUBBO_METHOD_NOT_FOUND');
    assert.equal(load.calls, 1, 'a definition read less than minRefreshIntervalMs ago is not read again');
    assert.deepEqual(t.client.stats(), {}, 'no connection to the provider was opened');
    const again = await call(t, 'nope', ['x']);
    assert.equal(again.status, 404);
    assert.equal(load.calls, 1);
  });

  it('picks up a newly published method by re-reading the definition', async () => {
    let published = false;
    const load = counted(
      edited((doc) => {
        if (!published) doc.methods = doc.methods.filter((m) => m.name !== 'half');
      }),
    );
    const t = transcoder(load, { minRefreshIntervalMs: 1 });
    assert.equal((await call(t, 'half', [5])).status, 404);
    published = true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const answer = await call(t, 'half', [5]);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json, 2.5);
    assert.equal(load.calls, 3);
  });

  it('re-reads the definition when the provider says a published method does not exist', async () => {
    const load = counted(edited((doc) => doc.methods.push({ name: 'ghost', parameterTypes: ['java.lang.String'] })));
    const t = transcoder(load, { minRefreshIntervalMs: 1 });
    assert.equal((await call(t, 'concat', ['a', 'b'])).status, 200);
    assert.equal(load.calls, 1);
    const ghost = await call(t, 'ghost', ['x']);
    assert.equal(ghost.status, 404, JSON.stringify(ghost.json));
    assert.equal(ghost.json.error?.code, 'PORTICO_ERR_DUBBO_SERVICE_NOT_FOUND');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await call(t, 'concat', ['a', 'b'])).status, 200);
    assert.equal(load.calls, 2);
  });

  it('answers 400 naming the candidates when overloads take the same argument count', async () => {
    const load = edited((doc) => doc.methods.push({ name: 'addInt', parameterTypes: ['long', 'long'] }));
    const t = transcoder(load);
    const answer = await call(t, 'addInt', [1, 2]);
    assert.equal(answer.status, 400);
    assert.match(answer.json.error?.details?.[0]?.message ?? '', /addInt\(int, int\); addInt\(long, long\)/);
    assert.deepEqual(t.client.stats(), {}, 'no call was made');
    const chosen = await call(t, 'addInt', [1, 2], { 'x-dubbo-types': 'int,int' });
    assert.equal(chosen.json, 3);
  });

  it("falls back to the untyped generic call when the provider's MetadataService has no definition", async () => {
    const client = new DubboClient();
    closers.push(client);
    const load = metadataServiceLoader(client);
    const key = {
      endpoint: { host: '127.0.0.1', port: provider.dubboPort },
      interface: TYPES,
      version: VERSION,
      group: GROUP,
      application: APP,
    };
    // Dubbo 3.3's MetadataService answers getServiceDefinition with "".
    assert.equal(await load(key, AbortSignal.timeout(3000)), undefined);
    const t = transcoder(load);
    const answer = await call(t, 'addInt', [2, 3]);
    assert.equal(answer.json, 5);
    // The untyped path's known limits hold: an ISO date is refused by the provider.
    const date = await call(t, 'plusDay', ['2024-02-28T12:00:00.123Z']);
    assert.equal(date.status, 400);
    assert.match(JSON.stringify(date.json), /Failed to parse date/);
    // So does a 404 from the provider, not from the metadata.
    assert.equal((await call(t, 'nope', [])).json.error?.code, 'PORTICO_ERR_DUBBO_SERVICE_NOT_FOUND');
  });

  it('falls back within fetchTimeoutMs when the metadata does not answer', async () => {
    const cache = { fetchTimeoutMs: 200 };
    const t = transcoder(() => new Promise(() => {}), cache);
    const started = Date.now();
    const answer = await call(t, 'concat', ['a', 'b']);
    assert.equal(answer.json, 'ab');
    assert.ok(Date.now() - started < 1500, 'the fetch was cut off at fetchTimeoutMs');
    const broken = transcoder(async () => {
      throw new Error('report unreachable');
    });
    assert.equal((await call(broken, 'concat', ['c', 'd'])).json, 'cd');
  });

  it('guards its options', () => {
    assert.throws(() => new DubboSignatureCache(reportLoader, { fetchTimeoutMs: 0 }), /fetchTimeoutMs/);
    assert.throws(() => new DubboSignatureCache(reportLoader, { ttl: 1 } as DubboSignatureCacheOptions), /ttl/);
    assert.throws(() => new DubboSignatureCache(undefined as unknown as DubboDefinitionLoader), /load/);
  });
});
