import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addForwardingHeaders, endToEndHeaders, endToEndResponseHeaders } from '../src/forwarding.ts';

test('hop-by-hop fields, Connection-listed fields and pseudo-headers are dropped', () => {
  const out = endToEndHeaders({
    host: 'a.example.com',
    connection: 'keep-alive, X-Secret',
    'x-secret': 'drop me',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic x',
    te: 'gzip',
    ':authority': 'a.example.com',
    accept: 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
    trailer: 'x-checksum',
  });
  assert.deepEqual(out, { accept: 'text/plain', 'set-cookie': ['a=1', 'b=2'], trailer: 'x-checksum' });
});

test('te: trailers survives (gRPC needs it)', () => {
  assert.deepEqual(endToEndHeaders({ te: 'trailers' }), { te: 'trailers' });
});

test('response hop-by-hop fields are dropped', () => {
  assert.deepEqual(endToEndResponseHeaders({ connection: 'close', 'keep-alive': 'x', 'content-type': 'a/b' }), {
    'content-type': 'a/b',
  });
});

test('forwarding fields are appended and a request id is made when absent or unsafe', () => {
  const headers: Record<string, string | string[]> = { 'x-forwarded-for': '10.0.0.1', via: '1.0 edge' };
  const id = addForwardingHeaders(headers, {
    ip: '127.0.0.1',
    proto: 'http',
    host: 'example.com:8080',
    httpVersion: '1.1',
  });
  assert.equal(headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-host'], 'example.com:8080');
  assert.equal(headers.forwarded, 'for=127.0.0.1;host="example.com:8080";proto=http');
  assert.equal(headers.via, '1.0 edge, 1.1 portico');
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(headers['x-request-id'], id);

  const kept: Record<string, string | string[]> = { 'x-request-id': 'abc-123' };
  assert.equal(addForwardingHeaders(kept, { ip: '::1', proto: 'https', host: 'h', httpVersion: '2.0' }), 'abc-123');
  assert.equal(kept.forwarded, 'for="[::1]";host=h;proto=https');
  assert.equal(kept.via, '2 portico');

  const unsafe: Record<string, string | string[]> = { 'x-request-id': 'bad id\r\n' };
  assert.notEqual(
    addForwardingHeaders(unsafe, { ip: '1.2.3.4', proto: 'http', host: 'h', httpVersion: '1.1' }),
    'bad id\r\n',
  );
});
