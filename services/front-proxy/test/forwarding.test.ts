import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endToEndResponseHeaders, forwardedHeadList } from '../src/forwarding.ts';

const client = { ip: '127.0.0.1', proto: 'http' as const, host: 'example.com:8080', httpVersion: '1.1' };
const TRACE = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';

function asObject(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    out[list[i]!] ??= [];
    out[list[i]!]!.push(list[i + 1]!);
  }
  return out;
}

test('hop-by-hop fields, Connection-listed fields and pseudo-headers are dropped', () => {
  const { list } = forwardedHeadList(
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
  assert.deepEqual(asObject(forwardedHeadList({ te: 'trailers' }, client, 'h', TRACE).list).te, ['trailers']);
});

test('response hop-by-hop fields are dropped', () => {
  assert.deepEqual(endToEndResponseHeaders({ connection: 'close', 'keep-alive': 'x', 'content-type': 'a/b' }), {
    'content-type': 'a/b',
  });
});

test('forwarding fields are appended once, a request id is made when absent or unsafe, host is the given one', () => {
  const { list, requestId } = forwardedHeadList(
    {
      host: 'example.com:8080',
      'x-forwarded-for': '10.0.0.1',
      via: '1.0 edge',
      'x-forwarded-proto': 'https',
      traceparent: 'old',
    },
    client,
    'rewritten.example.com',
    TRACE,
  );
  const head = asObject(list);
  assert.deepEqual(head['x-forwarded-for'], ['10.0.0.1, 127.0.0.1']);
  assert.deepEqual(head['x-forwarded-proto'], ['http']);
  assert.deepEqual(head['x-forwarded-host'], ['example.com:8080']);
  assert.deepEqual(head.forwarded, ['for=127.0.0.1;host="example.com:8080";proto=http']);
  assert.deepEqual(head.via, ['1.0 edge, 1.1 portico']);
  assert.deepEqual(head.host, ['rewritten.example.com']);
  assert.deepEqual(head.traceparent, [TRACE]);
  assert.match(requestId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(head['x-request-id'], [requestId]);

  const v6 = forwardedHeadList(
    { 'x-request-id': 'abc-123' },
    { ...client, ip: '::1', proto: 'https', host: 'h', httpVersion: '2.0' },
    'h',
    TRACE,
  );
  assert.equal(v6.requestId, 'abc-123');
  assert.deepEqual(asObject(v6.list).forwarded, ['for="[::1]";host=h;proto=https']);
  assert.deepEqual(asObject(v6.list).via, ['2 portico']);

  const unsafe = forwardedHeadList({ 'x-request-id': 'bad id\r\n' }, client, 'h', TRACE);
  assert.notEqual(unsafe.requestId, 'bad id\r\n');
});
