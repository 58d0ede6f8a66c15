/** The Nacos source's pure parts: ServiceInfo parsing, host -> endpoint rules, Dubbo protocols, AK/SK signing. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  buildService as buildNacosService,
  parseServiceInfo,
  protocolOf,
  toEndpoint,
} from '../src/sources/nacos/model.ts';
import { signNaming } from '../src/sources/nacos/naming-http.ts';

const host = (over: Record<string, unknown> = {}) => ({
  instanceId: '127.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
  ip: '127.0.0.1',
  port: 8080,
  weight: 1.0,
  healthy: true,
  enabled: true,
  ephemeral: true,
  clusterName: 'DEFAULT',
  serviceName: 'DEFAULT_GROUP@@orders',
  metadata: {},
  ...over,
});

describe('parseServiceInfo', () => {
  test('a list answer: grouped name, groupName, cacheMillis, lastRefTime', () => {
    const info = parseServiceInfo({
      name: 'g1@@orders',
      groupName: 'g1',
      clusters: '',
      cacheMillis: 3000,
      hosts: [host()],
      lastRefTime: 1795304282414,
    });
    assert.deepEqual(
      { service: info.service, group: info.group, cacheMillis: info.cacheMillis, lastRefTime: info.lastRefTime },
      { service: 'orders', group: 'g1', cacheMillis: 3000, lastRefTime: 1795304282414 },
    );
    assert.equal(info.hosts.length, 1);
  });

  test('a v1 push: grouped name only, no groupName; no hosts means none', () => {
    const info = parseServiceInfo({ name: 'DEFAULT_GROUP@@orders', lastRefTime: 5 });
    assert.equal(info.group, 'DEFAULT_GROUP');
    assert.equal(info.service, 'orders');
    assert.deepEqual(info.hosts, []);
    assert.equal(info.cacheMillis, 10_000);
  });

  test('not a ServiceInfo', () => {
    assert.throws(() => parseServiceInfo('x'), /not a JSON object/);
    assert.throws(() => parseServiceInfo({ hosts: [] }), /no "name"/);
    assert.throws(() => parseServiceInfo({ name: 'a', hosts: {} }), /"hosts" is not a list/);
  });
});

describe('toEndpoint', () => {
  test('weight x100, healthy && enabled, cluster as zone, metadata as strings', () => {
    const e = toEndpoint(
      'orders',
      host({ weight: 2.5, clusterName: 'zone-a', metadata: { v: '1', n: 3, o: { a: 1 } } }),
    );
    assert.deepEqual(e, {
      address: '127.0.0.1',
      port: 8080,
      weight: 250,
      healthy: true,
      protocol: 'http',
      zone: 'zone-a',
      metadata: { v: '1', n: '3', o: '{"a":1}' },
    });
    assert.equal((toEndpoint('orders', host({ healthy: false })) as { healthy: boolean }).healthy, false);
    assert.equal((toEndpoint('orders', host({ enabled: false })) as { healthy: boolean }).healthy, false);
    assert.equal((toEndpoint('orders', host({ weight: 0 })) as { weight: number }).weight, 0);
    assert.equal((toEndpoint('orders', host({ weight: 0.333 })) as { weight: number }).weight, 33);
    assert.equal((toEndpoint('orders', host()) as { zone?: string }).zone, undefined);
  });

  test('malformed hosts give a reason', () => {
    assert.match((toEndpoint('s', host({ port: 0 })) as { reason: string }).reason, /bad port 0/);
    assert.match((toEndpoint('s', host({ port: '80x' })) as { reason: string }).reason, /bad port/);
    assert.match((toEndpoint('s', host({ ip: 'a b' })) as { reason: string }).reason, /bad ip/);
    assert.match((toEndpoint('s', host({ ip: 7 })) as { reason: string }).reason, /bad ip/);
    assert.match((toEndpoint('s', host({ weight: -1 })) as { reason: string }).reason, /bad weight/);
    assert.match((toEndpoint('s', host({ metadata: 'garbage' })) as { reason: string }).reason, /metadata/);
    assert.match((toEndpoint('s', 'x') as { reason: string }).reason, /not a JSON object/);
  });

  test('Dubbo interface-level: protocol entry, Dubbo weight wins', () => {
    const svc = 'providers:com.example.DemoService:1.0.0:g1';
    const e = toEndpoint(svc, host({ metadata: { protocol: 'tri', weight: '40', side: 'provider' } }));
    assert.equal((e as { protocol: string }).protocol, 'tri');
    assert.equal((e as { weight: number }).weight, 40);
    assert.equal((toEndpoint(svc, host({ metadata: { protocol: 'dubbo' } })) as { weight: number }).weight, 100);
    assert.match((toEndpoint(svc, host({ metadata: { weight: 'x' } })) as { reason: string }).reason, /Dubbo weight/);
  });

  test('protocols', () => {
    assert.equal(protocolOf('orders', { protocol: 'dubbo' }, 80), 'http'); // not registered by Dubbo
    assert.equal(protocolOf('providers:a::', {}, 80), 'dubbo');
    assert.equal(protocolOf('providers:a::', { protocol: 'rest' }, 80), 'http');
    assert.deepEqual(protocolOf('providers:a::', { protocol: 'injvm' }, 80), {
      reason: 'unsupported protocol "injvm"',
    });
    const endpoints = JSON.stringify([
      { port: 20880, protocol: 'dubbo' },
      { port: 50051, protocol: 'tri' },
    ]);
    assert.equal(protocolOf('app', { 'dubbo.endpoints': endpoints }, 50051), 'tri');
    assert.equal(protocolOf('app', { 'dubbo.endpoints': endpoints }, 20880), 'dubbo');
    assert.equal(protocolOf('app', { 'dubbo.metadata.revision': 'abc' }, 1), 'dubbo');
    assert.deepEqual(protocolOf('app', { 'dubbo.endpoints': '[' }, 1), {
      reason: 'metadata "dubbo.endpoints" is not JSON',
    });
  });
});

test('buildService: bad hosts skipped, the rest kept, duplicates once, sorted', () => {
  const built = buildNacosService('orders.DEFAULT_GROUP.public', {
    service: 'orders',
    hosts: [host({ ip: '10.0.0.2' }), host({ port: -1 }), host({ ip: '10.0.0.1' }), host({ ip: '10.0.0.2' })],
  });
  assert.deepEqual(
    built.service.endpoints.map((e) => e.address),
    ['10.0.0.1', '10.0.0.2'],
  );
  assert.equal(built.skipped.length, 1);
  assert.match(built.skipped[0]!.reason, /bad port -1/);
  assert.match(built.skipped[0]!.raw, /"port":-1/);
});

test('signNaming: base64 HMAC-SHA1 of the data with the secret key', () => {
  const data = '1700000000000@@DEFAULT_GROUP@@orders';
  assert.equal(signNaming(data, 'sk'), createHmac('sha1', 'sk').update(data).digest('base64'));
  // RFC 2104 style known answer (HMAC-SHA1, key "key").
  const known = signNaming('The quick brown fox jumps over the lazy dog', 'key');
  assert.equal(Buffer.from(known, 'base64').toString('hex'), 'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9');
});
