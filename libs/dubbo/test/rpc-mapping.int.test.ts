/**
 * An RpcMapping for com.example.TypesService (e2e/peers/dubbo-provider) compiled to a matcher, and each matched
 * REST request called on the real Java Dubbo 3.3 provider with the matcher's parameter types and arguments.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DubboProviderPeer, startDubboProvider, startZooKeeper, type ZooKeeperServer } from '@portico/testkit';
import {
  compileRpcMapping,
  DubboClient,
  DubboServiceExceptionError,
  javaToJson,
  jsonToJava,
  type RpcMethodMatch,
  type RpcRequest,
} from '../src/index.ts';

const VERSION = '1.0.0';
const GROUP = 'g1';

const routes = compileRpcMapping({
  interface: 'com.example.TypesService',
  version: VERSION,
  group: GROUP,
  methods: [
    {
      name: 'next',
      http: { method: 'GET', path: '/numbers/{v}/next' },
      params: [{ from: 'path', name: 'v', type: 'long' }],
    },
    {
      name: 'concat',
      http: { method: 'GET', path: '/concat' },
      params: [
        { from: 'query', name: 'a', type: 'java.lang.String' },
        { from: 'header', name: 'x-suffix', type: 'java.lang.String' },
      ],
    },
    {
      name: 'addPrice',
      http: { method: 'POST', path: '/prices/{a}' },
      params: [
        { from: 'path', name: 'a', type: 'java.math.BigDecimal' },
        { from: 'body', name: 'plus', type: 'java.math.BigDecimal', required: true },
      ],
    },
    {
      name: 'nextStatus',
      http: { method: 'GET', path: '/status/{s}/next' },
      params: [{ from: 'path', name: 's', type: 'com.example.Status' }],
    },
    {
      name: 'upper',
      http: { method: 'GET', path: '/upper' },
      params: [{ from: 'query', name: 'w', type: 'java.util.List<java.lang.String>' }],
    },
    {
      name: 'plusDay',
      http: { method: 'GET', path: '/dates/{d}/next' },
      params: [{ from: 'path', name: 'd', type: 'java.util.Date' }],
    },
    {
      name: 'echoItems',
      http: { method: 'POST', path: '/items' },
      params: [{ from: 'body', type: 'java.util.List<com.example.Item>' }],
    },
    {
      name: 'fail',
      http: { method: 'POST', path: '/fail' },
      params: [{ from: 'body', name: 'message', type: 'java.lang.String' }],
    },
  ],
});

let zk: ZooKeeperServer;
let provider: DubboProviderPeer;
let client: DubboClient;

before(async () => {
  zk = await startZooKeeper();
  provider = await startDubboProvider({ registry: `zookeeper://${zk.connectString}`, version: VERSION, group: GROUP });
  client = new DubboClient();
});

after(async () => {
  client?.close();
  await provider?.stop();
  await zk?.stop();
});

/** Matches a REST request, calls the provider as the transcoder does, answers the result's JSON. */
async function rest(
  verb: string,
  url: string,
  parts: { headers?: RpcRequest['headers']; json?: unknown } = {},
): Promise<unknown> {
  const match = routes.match(verb, url);
  assert.equal(match.kind, 'method', `${verb} ${url}: ${JSON.stringify(match)}`);
  const m = match as RpcMethodMatch;
  const request: RpcRequest = {
    query: new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''),
    headers: parts.headers ?? {},
    body: parts.json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(parts.json)),
  };
  // javaArgs is jsonToJava of args: the transcoder may take either.
  const args = m.javaArgs(request);
  assert.deepEqual(args, jsonToJava(m.parameterTypes, m.args(request)));
  const value = await client.invoke(`127.0.0.1:${provider.dubboPort}`, {
    interface: m.interface,
    version: m.version,
    group: m.group,
    method: m.method,
    parameterTypes: m.parameterTypes,
    args,
    attachments: m.attachments(request.headers),
  });
  return javaToJson(value);
}

test('REST requests mapped to TypesService methods reach the Java provider with the declared types', async () => {
  assert.equal(await rest('GET', '/numbers/9007199254740993/next'), '9007199254740994');
  assert.equal(await rest('GET', '/numbers/41/next'), 42);
  assert.equal(await rest('GET', '/concat?a=h%C3%A9llo%20', { headers: { 'x-suffix': 'world' } }), 'héllo world');
  assert.equal(await rest('POST', '/prices/0.10', { json: { plus: '0.2' } }), '0.30');
  assert.equal(await rest('GET', '/status/NEW/next'), 'PAID');
  assert.deepEqual(await rest('GET', '/upper?w=a&w=bc'), ['A', 'BC']);
  assert.equal(await rest('GET', '/dates/2024-02-28T12%3A00%3A00.123Z/next'), '2024-02-29T12:00:00.123Z');
  assert.equal(await rest('GET', `/dates/${Date.UTC(2024, 1, 28)}/next`), '2024-02-29T00:00:00.000Z');
  const items = [
    { sku: 'a', quantity: 2, price: '1.25' },
    { sku: 'b', quantity: 1, price: '0.5' },
  ];
  assert.deepEqual(await rest('POST', '/items', { json: items }), items);
});

test('a Java exception of a mapped method comes back as the provider threw it', async () => {
  await assert.rejects(
    rest('POST', '/fail', { json: { message: 'boom' } }),
    (err: unknown) => err instanceof DubboServiceExceptionError && err.javaClass === 'com.example.TypesException',
  );
});
