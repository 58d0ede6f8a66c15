import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  type DubboProviderPeer,
  startDubboProvider,
  startZooKeeper,
  waitUntil,
  type ZooKeeperServer,
} from '@portico/testkit';
import type { CallHandle, ClusterRequest, Headers, ResponseSink, UpstreamError } from '@portico/upstream';
import { HessianReader } from '../src/hessian.ts';
import { DubboTranscoder, type DubboTranscoderOptions, FrameDecoder } from '../src/index.ts';

const TYPES = 'com.example.TypesService';
const VERSION = '1.0.0';
const GROUP = 'g1';
const BASE = `/dubbo/${TYPES}`;

let zk: ZooKeeperServer;
let provider: DubboProviderPeer;
const transcoders: DubboTranscoder[] = [];

function transcoder(options: Partial<DubboTranscoderOptions> = {}, port = provider.dubboPort): DubboTranscoder {
  const t = new DubboTranscoder(
    'types',
    { pick: () => ({ address: '127.0.0.1', port }) },
    { interface: TYPES, version: VERSION, group: GROUP, timeoutMs: 3000, maxBodyBytes: 64 * 1024, ...options },
  );
  transcoders.push(t);
  return t;
}

/** What a ResponseSink heard, in order. */
interface Heard {
  status?: number;
  headers?: Headers;
  chunks: Buffer[];
  ended: boolean;
  error?: UpstreamError;
  events: string[];
}

class CollectingSink implements ResponseSink {
  readonly heard: Heard = { chunks: [], ended: false, events: [] };
  readonly done: Promise<Heard>;
  #resolve!: (h: Heard) => void;
  /** What onResponseStart / onResponseData answer (false pauses). */
  startAnswer = true;
  dataAnswer = true;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  onResponseStart(statusCode: number, headers: Headers, _call: CallHandle): boolean {
    this.heard.events.push('start');
    this.heard.status = statusCode;
    this.heard.headers = headers;
    return this.startAnswer;
  }

  onResponseData(chunk: Buffer): boolean {
    this.heard.events.push('data');
    this.heard.chunks.push(chunk);
    return this.dataAnswer;
  }

  onResponseEnd(): void {
    this.heard.events.push('end');
    this.heard.ended = true;
    this.#resolve(this.heard);
  }

  onResponseError(err: UpstreamError): void {
    this.heard.events.push('error');
    this.heard.error = err;
    this.#resolve(this.heard);
  }
}

interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}

interface Ask {
  method?: string;
  body?: string | unknown[] | Record<string, unknown>;
  headers?: Headers | string[];
  backendTimeoutMs?: number;
}

function requestOf(path: string, ask: Ask = {}): ClusterRequest {
  const body =
    ask.body === undefined
      ? null
      : Readable.from([Buffer.from(typeof ask.body === 'string' ? ask.body : JSON.stringify(ask.body))]);
  return {
    method: ask.method ?? 'POST',
    path,
    headers: ask.headers ?? { 'content-type': 'application/json' },
    body,
    ...(ask.backendTimeoutMs === undefined ? {} : { backendTimeoutMs: ask.backendTimeoutMs }),
  };
}

async function call(t: DubboTranscoder, path: string, ask: Ask = {}): Promise<Answer> {
  const sink = new CollectingSink();
  t.dispatch(requestOf(path, ask), sink);
  const heard = await sink.done;
  assert.equal(heard.error, undefined, `${path}: ${heard.error?.message}`);
  assert.deepEqual(heard.events, ['start', 'data', 'end'], path);
  const body = Buffer.concat(heard.chunks);
  assert.equal(heard.headers?.['content-length'], String(body.length));
  assert.equal(heard.headers?.['content-type'], 'application/json');
  return { status: heard.status as number, headers: heard.headers as Headers, json: JSON.parse(body.toString()) };
}

/** The expected answer is the request's argument. */
const SAME = Symbol('same as the argument');
const bytes = Buffer.from([0, 1, 2, 255]);
const reversed = Buffer.from([255, 2, 1, 0]).toString('base64');
const order = {
  id: '9007199254740993',
  parentId: null,
  customer: 'ann',
  total: '12.50',
  createdAt: '2024-01-02T03:04:05',
  paidAt: 1704164700000,
  status: 'SHIPPED',
  signature: [...Buffer.from('signed')],
  items: [{ sku: 'a', quantity: 2, price: '6.25' }],
  extra: { note: 'x', n: 1 },
};
const orderBack = {
  ...order,
  paidAt: '2024-01-02T03:05:00.000Z',
  signature: Buffer.from('signed').toString('base64'),
};

before(async () => {
  zk = await startZooKeeper();
  provider = await startDubboProvider({ registry: `zookeeper://${zk.connectString}`, version: VERSION, group: GROUP });
});

after(async () => {
  for (const t of transcoders) t.close();
  await provider?.stop();
  await zk?.stop();
});

describe('DubboTranscoder against the Java Dubbo 3.3 provider', () => {
  it('calls every TypesService method without parameter types (generic call by method name)', async () => {
    const t = transcoder();
    const cases: Array<[string, unknown, unknown]> = [
      ['addInt', [2_000_000_000, 147_483_647], 2_147_483_647],
      ['boxedInt', [null], null],
      ['boxedInt', [-7], -7],
      ['next', ['9007199254740993'], '9007199254740994'],
      ['next', [41], 42],
      ['next', [3_000_000_000], 3_000_000_001],
      ['boxedLong', ['-9007199254740999'], '-9007199254740999'],
      ['half', [5], 2.5],
      ['not', [false], true],
      ['concat', ['héllo ', '世界 🙂'], 'héllo 世界 🙂'],
      ['addPrice', ['0.10', '0.2'], '0.30'],
      ['addPrice', ['12345678901234567890.000001', 1], '12345678901234567891.000001'],
      ['square', ['123456789012345678901234567890'], '15241578753238836750495351562536198787501905199875019052100'],
      ['plusDay', [1709121600123], '2024-02-29T12:00:00.123Z'],
      ['plusHour', ['2024-12-31T23:30:15.5'], '2025-01-01T00:30:15.500'],
      ['nextStatus', ['NEW'], 'PAID'],
      ['reverse', [[0, 1, 2, -1]], reversed],
      ['upper', [['a', 'bc']], ['A', 'BC']],
      ['nullable', [null], null],
      ['nullable', ['x'], 'x'],
      ['echoMap', { s: 'x', i: 1, big: 3_000_000_000, d: 1.5, n: null, l: [1, 'two'], o: { k: [{ z: 0 }] } }, SAME],
      ['echoItems', [[{ sku: 'a', quantity: 2, price: '1.25' }]], [{ sku: 'a', quantity: 2, price: '1.25' }]],
      ['echoOrder', order, orderBack],
      ['echoOrder', [order], orderBack],
      [
        'countBySku',
        [
          [
            order,
            {
              ...order,
              items: [
                { sku: 'a', quantity: 3, price: '1' },
                { sku: 'b', quantity: 1 },
              ],
            },
          ],
        ],
        { a: 5, b: 1 },
      ],
      ['sleep', [5], 'slept 5'],
    ];
    for (const [method, body, want] of cases) {
      const answer = await call(t, `${BASE}/${method}`, { body: body as unknown[] });
      assert.equal(answer.status, 200, `${method}: ${JSON.stringify(answer.json)}`);
      assert.deepEqual(answer.json, want === SAME ? body : want, `${method}(${JSON.stringify(body)})`);
    }
  });

  it('calls every TypesService method with explicit parameter types (header or query)', async () => {
    const t = transcoder();
    const cases: Array<[string, string, unknown[], unknown]> = [
      ['addInt', 'int,int', [2_000_000_000, 147_483_647], 2_147_483_647],
      ['boxedInt', 'java.lang.Integer', [null], null],
      ['next', 'long', ['9223372036854775806'], '9223372036854775807'],
      ['boxedLong', 'java.lang.Long', ['-9007199254740999'], '-9007199254740999'],
      ['half', 'double', [5], 2.5],
      ['not', 'boolean', [true], false],
      ['concat', 'java.lang.String, java.lang.String', ['a', 'b'], 'ab'],
      ['addPrice', 'java.math.BigDecimal,java.math.BigDecimal', ['0.10', '0.2'], '0.30'],
      ['square', 'java.math.BigInteger', ['-3'], '9'],
      ['plusDay', 'java.util.Date', ['2024-02-28T12:00:00.123Z'], '2024-02-29T12:00:00.123Z'],
      ['plusHour', 'java.time.LocalDateTime', ['2024-12-31T23:30:15.5'], '2025-01-01T00:30:15.500'],
      ['nextStatus', 'com.example.Status', ['PAID'], 'SHIPPED'],
      ['reverse', 'byte[]', [bytes.toString('base64')], reversed],
      ['upper', 'java.util.List<java.lang.String>', [['a', 'bc']], ['A', 'BC']],
      ['nullable', 'java.lang.String', [null], null],
      [
        'echoMap',
        'java.util.Map<java.lang.String,java.lang.Object>',
        [{ a: [1, { b: null }] }],
        { a: [1, { b: null }] },
      ],
      [
        'echoItems',
        'java.util.List<com.example.Item>',
        [[{ sku: 'a', quantity: 2, price: '1.25' }]],
        [{ sku: 'a', quantity: 2, price: '1.25' }],
      ],
      ['echoOrder', 'com.example.Order', [order], orderBack],
      ['countBySku', 'java.util.List<com.example.Order>', [[order]], { a: 2 }],
    ];
    for (const [method, types, args, want] of cases) {
      const byHeader = await call(t, `${BASE}/${method}`, { body: args, headers: { 'x-dubbo-types': types } });
      assert.equal(byHeader.status, 200, `${method}: ${JSON.stringify(byHeader.json)}`);
      assert.deepEqual(byHeader.json, want, `${method}(${types}) by header`);
      const byQuery = await call(t, `${BASE}/${method}?types=${encodeURIComponent(types)}`, { body: args });
      assert.deepEqual(byQuery.json, want, `${method}(${types}) by query`);
    }
  });

  it('keeps to what the file header documents of the untyped path: ISO dates and base64 bytes need types', async () => {
    const t = transcoder();
    const date = await call(t, `${BASE}/plusDay`, { body: ['2024-02-28T12:00:00.123Z'] });
    assert.equal(date.status, 400);
    assert.match(JSON.stringify(date.json), /PORTICO_ERR_DUBBO_ARGUMENT.*Failed to parse date/);
    const raw = await call(t, `${BASE}/reverse`, { body: [bytes.toString('base64')] });
    assert.equal(raw.status, 500);
    assert.match((raw.json as { error: { message: string } }).error.message, /^java\.lang\.ClassCastException/);
  });

  it('answers a Java exception as 500 with its class and message', async () => {
    const t = transcoder();
    for (const headers of [{}, { 'x-dubbo-types': 'java.lang.String' }] as Headers[]) {
      const answer = await call(t, `${BASE}/fail`, { body: ['no stock'], headers });
      assert.equal(answer.status, 500);
      const { error } = answer.json as { error: { code: string; message: string; exception: unknown } };
      assert.equal(error.code, 'PORTICO_ERR_DUBBO_EXCEPTION');
      assert.equal(error.message, 'com.example.TypesException: no stock');
      assert.deepEqual(error.exception, { class: 'com.example.TypesException', message: 'no stock' });
    }
  });

  it('answers 504 when the provider is slower than the timeout (the shorter of option and request)', async () => {
    const slow = await call(transcoder({ timeoutMs: 300 }), `${BASE}/sleep`, { body: [2000] });
    assert.equal(slow.status, 504);
    assert.equal((slow.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_TIMEOUT');
    const started = Date.now();
    const byRequest = await call(transcoder(), `${BASE}/sleep`, { body: [2000], backendTimeoutMs: 200 });
    assert.equal(byRequest.status, 504);
    assert.ok(Date.now() - started < 1500, 'the request timeout cut the call short');
  });

  it('answers 404 for an unknown method, another interface or a path outside /dubbo/', async () => {
    const t = transcoder();
    const unknown = await call(t, `${BASE}/nope`, { body: [] });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_SERVICE_NOT_FOUND');
    const typed = await call(t, `${BASE}/nope`, { body: [1], headers: { 'x-dubbo-types': 'int' } });
    assert.equal(typed.status, 404, JSON.stringify(typed.json));
    for (const path of [
      '/dubbo/com.example.DemoService/sayHello',
      '/dubbo/x',
      '/other',
      `${BASE}/$echo`,
      `${BASE}/a/b`,
    ]) {
      const answer = await call(t, path, { body: ['x'] });
      assert.equal(answer.status, 404, path);
      assert.equal((answer.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_ROUTE_NOT_FOUND');
    }
  });

  it('answers 400 with the path for bad JSON, bad types and arguments that do not fit', async () => {
    const t = transcoder();
    const details = (a: Answer) => (a.json as { error: { code: string; details: Array<{ path: string }> } }).error;
    const badJson = await call(t, `${BASE}/concat`, { body: '["a",' });
    assert.equal(badJson.status, 400);
    assert.equal(details(badJson).details[0]?.path, 'body');
    const scalar = await call(t, `${BASE}/concat`, { body: '"a"' });
    assert.equal(scalar.status, 400);
    const badTypes = await call(t, `${BASE}/concat`, {
      body: ['a'],
      headers: { 'x-dubbo-types': 'int, java.util.List<' },
    });
    assert.equal(badTypes.status, 400);
    assert.equal(details(badTypes).details[0]?.path, 'x-dubbo-types[1]');
    const mismatch = await call(t, `${BASE}/echoItems`, {
      body: [
        [
          { sku: 'a', quantity: 1 },
          { sku: 'b', quantity: 'many' },
        ],
      ],
      headers: { 'x-dubbo-types': 'java.util.List<java.lang.String>' },
    });
    assert.equal(mismatch.status, 400);
    assert.equal(details(mismatch).code, 'PORTICO_ERR_DUBBO_ARGUMENT');
    assert.equal(details(mismatch).details[0]?.path, 'args[0][0]');
    const outOfRange = await call(t, `${BASE}/addInt`, { body: [1, 2 ** 31], headers: { 'x-dubbo-types': 'int,int' } });
    assert.equal(details(outOfRange).details[0]?.path, 'args[1]');
    const count = await call(t, `${BASE}/addInt`, { body: [1], headers: { 'x-dubbo-types': 'int,int' } });
    assert.equal(count.status, 400);
    const objectForTwo = await call(t, `${BASE}/addInt`, { body: { a: 1 }, headers: { 'x-dubbo-types': 'int,int' } });
    assert.equal(objectForTwo.status, 400);
    const broken = new Readable({
      read() {
        this.push('["a",');
        this.destroy(new Error('client went away'));
      },
    });
    const brokeOff = new CollectingSink();
    t.dispatch({ ...requestOf(`${BASE}/concat`), body: broken }, brokeOff);
    const heard = await brokeOff.done;
    assert.equal(heard.status, 400);
    assert.match(Buffer.concat(heard.chunks).toString(), /the request body broke off/);
    // Untyped: the provider converts and complains; still the client's fault.
    const untyped: Array<[string, unknown[]]> = [
      ['addInt', [1]],
      ['addInt', [1, 2, 3]],
      ['addInt', ['x', 1]],
      ['nextStatus', ['BOGUS']],
      ['plusHour', ['yesterday']],
      ['echoItems', [[{ sku: 'a', quantity: 'many' }]]],
    ];
    for (const [method, body] of untyped) {
      const answer = await call(t, `${BASE}/${method}`, { body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(details(answer).code, 'PORTICO_ERR_DUBBO_ARGUMENT');
      assert.equal(details(answer).details[0]?.path, 'args');
    }
  });

  it('answers 405 for other HTTP methods and 400 for a GET with parameters', async () => {
    const t = transcoder();
    const put = await call(t, `${BASE}/concat`, { method: 'PUT', body: ['a', 'b'] });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'POST, GET');
    const get = await call(t, `${BASE}/concat?types=java.lang.String`, { method: 'GET' });
    assert.equal(get.status, 400);
    // A GET is a call without arguments; the provider's concat takes two.
    const untyped = await call(t, `${BASE}/concat`, { method: 'GET' });
    assert.equal(untyped.status, 400);
    assert.match(JSON.stringify(untyped.json), /args\.length != types\.length/);
  });

  it('answers 413 for a body over maxBodyBytes and 503 without an endpoint', async () => {
    const big = await call(transcoder({ maxBodyBytes: 100 }), `${BASE}/concat`, { body: ['x'.repeat(200), ''] });
    assert.equal(big.status, 413);
    assert.equal((big.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_BODY_TOO_LARGE');
    const none = new DubboTranscoder(
      'none',
      { pick: () => undefined },
      {
        interface: TYPES,
        timeoutMs: 1000,
        maxBodyBytes: 1000,
      },
    );
    transcoders.push(none);
    const answer = await call(none, `${BASE}/concat`, { body: ['a', 'b'] });
    assert.equal(answer.status, 503);
    assert.equal((answer.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_NO_ENDPOINT');
  });

  it('sends x-dubbo-attachment-* headers, the request id and traceparent as attachments', async () => {
    const tap = await wireTap(provider.dubboPort);
    try {
      const t = transcoder({}, tap.port);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const answer = await call(t, `${BASE}/concat`, {
        body: ['a', 'b'],
        headers: ['X-Dubbo-Attachment-Tenant', 'acme', 'x-request-id', 'req-1', 'traceparent', traceparent],
      });
      assert.deepEqual(answer.json, 'ab');
      const sent = await waitUntil('the request frame', () => tap.attachments.at(-1));
      assert.equal(sent.tenant, 'acme');
      assert.equal(sent['x-request-id'], 'req-1');
      assert.equal(sent.traceparent, traceparent);
      assert.equal(sent.generic, 'true');
      assert.equal(sent.version, VERSION);
      assert.equal(sent.group, GROUP);
      const reserved = await call(t, `${BASE}/concat`, {
        body: ['a', 'b'],
        headers: { 'x-dubbo-attachment-generic': 'nativejava' },
      });
      assert.equal(reserved.status, 400);
      assert.equal(tap.attachments.length, 1, 'the refused request never reached the provider');
    } finally {
      await tap.close();
    }
  });

  it('answers on a later tick, and abort() mid-call gives the sink one 499 and drops the answer', async () => {
    const t = transcoder();
    const sink = new CollectingSink();
    const handle = t.dispatch(requestOf(`${BASE}/sleep`, { body: [300] }), sink);
    assert.deepEqual(sink.heard.events, [], 'nothing before dispatch() returned');
    await waitUntil('the call in flight', () =>
      Object.values(t.client.stats())
        .flat()
        .some((c) => c.inFlight > 0),
    );
    handle.abort();
    handle.abort();
    assert.deepEqual(sink.heard.events, ['error']);
    assert.equal(sink.heard.error?.status, 499);
    // The provider's answer arrives and is dropped.
    await waitUntil(
      'the answer',
      () =>
        Object.values(t.client.stats())
          .flat()
          .every((c) => c.inFlight === 0),
      {
        timeoutMs: 3000,
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sink.heard.events, ['error']);
  });

  it('waits for resume() when the sink pushes back', async () => {
    const t = transcoder();
    const sink = new CollectingSink();
    sink.startAnswer = false;
    sink.dataAnswer = false;
    const handle = t.dispatch(requestOf(`${BASE}/concat`, { body: ['a', 'b'] }), sink);
    await waitUntil('the head', () => sink.heard.status);
    assert.deepEqual(sink.heard.events, ['start']);
    handle.resume();
    assert.deepEqual(sink.heard.events, ['start', 'data']);
    handle.resume();
    assert.deepEqual(sink.heard.events, ['start', 'data', 'end']);
    assert.equal(Buffer.concat(sink.heard.chunks).toString(), '"ab"');
    handle.resume();
    handle.abort();
    assert.deepEqual(sink.heard.events, ['start', 'data', 'end']);
  });

  it('answers 100 concurrent calls, each with its own result', async () => {
    const t = transcoder();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(t, `${BASE}/addInt`, { body: [i, 1000] })),
    );
    assert.deepEqual(
      answers.map((a) => a.json),
      Array.from({ length: 100 }, (_, i) => i + 1000),
    );
  });

  it('refuses calls after close()', async () => {
    const t = transcoder();
    assert.equal((await call(t, `${BASE}/concat`, { body: ['a', 'b'] })).status, 200);
    t.close();
    const closed = await call(t, `${BASE}/concat`, { body: ['a', 'b'] });
    assert.equal(closed.status, 503);
    assert.equal((closed.json as { error: { code: string } }).error.code, 'PORTICO_ERR_DUBBO_CLIENT_CLOSED');
  });

  it('guards its options', () => {
    const picker = { pick: () => undefined };
    const ok = { interface: TYPES, timeoutMs: 1, maxBodyBytes: 1 };
    assert.throws(() => new DubboTranscoder('', picker, ok), /name/);
    assert.throws(() => new DubboTranscoder('x', picker, { ...ok, interface: 'not a name' }), /interface/);
    assert.throws(() => new DubboTranscoder('x', picker, { ...ok, timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => new DubboTranscoder('x', picker, { ...ok, maxBodyBytes: 1.5 }), /maxBodyBytes/);
  });
});

/**
 * A TCP pass-through to the provider that decodes each request frame it forwards and keeps its attachments (the
 * last value of a Dubbo request body): the provider has no method that echoes them.
 */
async function wireTap(
  target: number,
): Promise<{ port: number; attachments: Record<string, unknown>[]; close(): Promise<void> }> {
  const attachments: Record<string, unknown>[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    const decoder = new FrameDecoder();
    client.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (!frame.request || frame.event) continue;
        const reader = new HessianReader(frame.body);
        let last: unknown;
        while (!reader.done) last = reader.readPlain();
        attachments.push(last as Record<string, unknown>);
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    attachments,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
