import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clientAddress,
  endToEndResponseHeaders,
  forwardedHeadList,
  requestIdOf,
  TrustedProxies,
  trustedProxiesFrom,
} from '../src/forwarding.ts';

const client = {
  ip: '127.0.0.1',
  client: '127.0.0.1',
  trustedPeer: false,
  proto: 'http' as const,
  host: 'example.com:8080',
  httpVersion: '1.1',
};
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
    { ...client, client: '10.0.0.1', trustedPeer: true },
    'rewritten.example.com',
    TRACE,
    RID,
  );
  const head = asObject(list);
  assert.deepEqual(head['x-forwarded-for'], ['10.0.0.1, 127.0.0.1']);
  assert.deepEqual(head['x-real-ip'], ['10.0.0.1']);
  // A trusted proxy in front terminated TLS: the client's scheme is kept; no X-Forwarded-Host came, ours is set.
  assert.deepEqual(head['x-forwarded-proto'], ['https']);
  assert.deepEqual(head['x-forwarded-host'], ['example.com:8080']);
  assert.deepEqual(head.forwarded, ['for=127.0.0.1;host="example.com:8080";proto=http']);
  assert.deepEqual(head.via, ['1.0 edge, 1.1 portico']);
  const trusted = { ...client, client: '10.0.0.1', trustedPeer: true };
  const kept = asObject(
    forwardedHeadList(
      { 'x-forwarded-host': 'shop.example.com', 'x-forwarded-proto': 'https' },
      trusted,
      'h',
      TRACE,
      RID,
    ),
  );
  assert.deepEqual(kept['x-forwarded-host'], ['shop.example.com']);
  // Anything but one plain host or http/https is not believed even from a trusted peer.
  const odd = asObject(
    forwardedHeadList(
      { 'x-forwarded-host': 'a.example, b.example', 'x-forwarded-proto': 'gopher' },
      trusted,
      'h',
      TRACE,
      RID,
    ),
  );
  assert.deepEqual(odd['x-forwarded-host'], ['example.com:8080']);
  assert.deepEqual(odd['x-forwarded-proto'], ['http']);
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

test('an untrusted peer cannot name a client: its X-Forwarded-For, Forwarded and X-Real-IP are replaced', () => {
  const head = asObject(
    forwardedHeadList(
      {
        'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        via: '1.1 evil',
      },
      client,
      'h',
      TRACE,
      RID,
    ),
  );
  assert.deepEqual(head['x-forwarded-for'], ['127.0.0.1']);
  assert.deepEqual(head.forwarded, ['for=127.0.0.1;host="example.com:8080";proto=http']);
  assert.deepEqual(head['x-real-ip'], ['127.0.0.1']);
  assert.deepEqual(head['x-forwarded-host'], ['example.com:8080']);
  assert.deepEqual(head['x-forwarded-proto'], ['http']);
  // Via is a trace of the path, not an identity: kept and appended to.
  assert.deepEqual(head.via, ['1.1 evil, 1.1 portico']);
});

test('clientAddress: the peer unless trusted; then the right-most untrusted X-Forwarded-For entry', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '::1', '192.168.1.7']);
  const xff = (value: string | string[]) => ({ 'x-forwarded-for': value });
  assert.equal(clientAddress('8.8.8.8', xff('1.1.1.1'), trusted), '8.8.8.8', 'untrusted peer');
  assert.equal(clientAddress('10.0.0.5', xff('1.1.1.1'), undefined), '10.0.0.5', 'nobody trusted');
  assert.equal(clientAddress('10.0.0.5', {}, trusted), '10.0.0.5', 'trusted peer, no header');
  assert.equal(clientAddress('10.0.0.5', xff('6.6.6.6, 1.1.1.1, 10.2.3.4'), trusted), '1.1.1.1');
  assert.equal(clientAddress('::1', xff(['6.6.6.6', '2001:db8::1', '192.168.1.7']), trusted), '2001:db8::1');
  assert.equal(clientAddress('10.0.0.5', xff('10.9.9.9,10.8.8.8'), trusted), '10.9.9.9', 'all trusted: left-most');
  assert.equal(clientAddress('10.0.0.5', xff('1.1.1.1, garbage, 10.1.1.1'), trusted), '10.1.1.1', 'stops at junk');
  assert.equal(clientAddress('10.0.0.5', xff('[2001:db8::2]:443'), trusted), '2001:db8::2');
  assert.equal(clientAddress('10.0.0.5', xff('1.2.3.4:5678'), trusted), '1.2.3.4');
  assert.equal(clientAddress('10.0.0.5', xff(''), trusted), '10.0.0.5');
  assert.equal(trustedProxiesFrom([]), undefined, 'an empty list costs nothing per request');
  assert.ok(trusted.has('::ffff:10.1.2.3'), 'IPv4-mapped peers match IPv4 ranges');
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0/8', '::1/129', '10.0.0.0/x'])
    assert.throws(() => new TrustedProxies([bad]), /trustedProxies\[0\] must be an IP address or a CIDR range/, bad);
});
