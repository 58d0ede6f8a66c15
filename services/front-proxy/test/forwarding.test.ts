import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endToEndResponseHeaders, forwardedHeadList, requestIdOf } from '../src/forwarding.ts';

const client = { ip: '127.0.0.1', proto: 'http' as const, host: 'example.com:8080', httpVersion: '1.1' };
const TRACE = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
const RID = 'req-1';

function asObject(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    out[list[i]!] ??= [];
    out[list[i]!]!.push(list[i + 1]!);
  }
  return out;
}

test('hop-by-hop fields, Connection-listed fields and pseudo-headers are dropped', () => {
  const list = forwardedHeadList(
    {
      host: 'a.example.com',
      connection: 'keep-alive, X-Secret',
      'x-secret': 'drop me',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic x',
      te: 'gzip',
      expect: '100-continue',
      ':authority': 'a.example.com',
      accept: 'text/plain',
      cookie: ['a=1', 'b=2'],
      trailer: 'x-checksum',
    },
    client,
    'a.example.com',
    TRACE,
    RID,
  );
  const head = asObject(list);
  for (const gone of [
    'connection',
    'x-secret',
    'keep-alive',
    'transfer-encoding',
    'upgrade',
    'proxy-authorization',
    'te',
    'expect',
    ':authority',
  ])
    assert.equal(head[gone], undefined, gone);
  assert.deepEqual(head.accept, ['text/plain']);
  assert.deepEqual(head.cookie, ['a=1', 'b=2']);
  assert.deepEqual(head.trailer, ['x-checksum']);
  assert.deepEqual(head.host, ['a.example.com']);
});

test('te: trailers survives (gRPC needs it)', () => {
  assert.deepEqual(asObject(forwardedHeadList({ te: 'trailers' }, client, 'h', TRACE, RID)).te, ['trailers']);
});

test('response hop-by-hop fields are dropped', () => {
  assert.deepEqual(endToEndResponseHeaders({ connection: 'close', 'keep-alive': 'x', 'content-type': 'a/b' }), {
    'content-type': 'a/b',
  });
});

test('forwarding fields are appended once, the given request id replaces the incoming one, host is the given one', () => {
  const list = forwardedHeadList(
    {
      host: 'example.com:8080',
      'x-forwarded-for': '10.0.0.1',
      via: '1.0 edge',
      'x-forwarded-proto': 'https',
      'x-request-id': 'from-client',
      traceparent: 'old',
    },
    client,
    'rewritten.example.com',
    TRACE,
    RID,
  );
  const head = asObject(list);
  assert.deepEqual(head['x-forwarded-for'], ['10.0.0.1, 127.0.0.1']);
  assert.deepEqual(head['x-forwarded-proto'], ['http']);
  assert.deepEqual(head['x-forwarded-host'], ['example.com:8080']);
  assert.deepEqual(head.forwarded, ['for=127.0.0.1;host="example.com:8080";proto=http']);
  assert.deepEqual(head.via, ['1.0 edge, 1.1 portico']);
  assert.deepEqual(head.host, ['rewritten.example.com']);
  assert.deepEqual(head.traceparent, [TRACE]);
  assert.deepEqual(head['x-request-id'], [RID]);

  const v6 = forwardedHeadList(
    {},
    { ...client, ip: '::1', proto: 'https', host: 'h', httpVersion: '2.0' },
    'h',
    TRACE,
    RID,
  );
  assert.deepEqual(asObject(v6).forwarded, ['for="[::1]";host=h;proto=https']);
  assert.deepEqual(asObject(v6).via, ['2 portico']);
  // the quoting memo must answer per value, not repeat the previous one
  const quoted = forwardedHeadList({}, { ...client, host: 'a b' }, 'h', TRACE, RID);
  assert.deepEqual(asObject(quoted).forwarded, ['for=127.0.0.1;host="a b";proto=http']);
  const plain = forwardedHeadList({}, { ...client, host: 'plain.example' }, 'h', TRACE, RID);
  assert.deepEqual(asObject(plain).forwarded, ['for=127.0.0.1;host=plain.example;proto=http']);
  assert.deepEqual(asObject(forwardedHeadList({}, { ...client, httpVersion: '1.0' }, 'h', TRACE, RID)).via, [
    '1.0 portico',
  ]);
});

test('a request id is kept when the client sent a sane one, made when absent, duplicated or unsafe', () => {
  assert.equal(requestIdOf({ 'x-request-id': 'abc-123' }), 'abc-123');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(requestIdOf({}), uuid);
  assert.match(requestIdOf({ 'x-request-id': 'bad id\r\n' }), uuid);
  assert.match(requestIdOf({ 'x-request-id': ['a', 'b'] }), uuid);
  assert.notEqual(requestIdOf({}), requestIdOf({}));
});
