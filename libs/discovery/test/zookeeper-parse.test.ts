/** The ZooKeeper source's pure parsers: Dubbo provider URLs and Curator (Spring Cloud / Dubbo 3) instance JSON. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { springZookeeperInstance } from '@portico/testkit';
import { parseCuratorInstance } from '../src/sources/zookeeper/curator-instance.ts';
import { decodeJavaUrlComponent, parseDubboProvider, parseDubboUrl } from '../src/sources/zookeeper/dubbo-url.ts';

/** Java's URLEncoder: keeps [A-Za-z0-9.*_-], a space becomes '+', everything else %XX (UTF-8). */
function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

const IFACE = 'com.example.DemoService';
const DEMO_URL =
  'dubbo://192.168.1.5:20880/com.example.DemoService?anyhost=true&application=demo&dubbo=2.0.2' +
  '&interface=com.example.DemoService&methods=sayHello,sayHi&side=provider&version=1.0.0&group=g1' +
  '&weight=100&enabled=true&timestamp=1700000000000';

function provider(url: string, iface = IFACE) {
  return parseDubboProvider(javaUrlEncode(url), iface);
}
function reason(result: { ok: boolean; reason?: string }): string {
  assert.equal(result.ok, false, 'expected the registration to be skipped');
  return result.reason ?? '';
}

describe('Dubbo provider URLs', () => {
  test('a Dubbo 3 provider URL as ZooKeeper holds it', () => {
    const encoded = javaUrlEncode(DEMO_URL);
    assert.match(encoded, /^dubbo%3A%2F%2F192\.168\.1\.5%3A20880%2Fcom\.example\.DemoService%3Fanyhost%3Dtrue%26/);
    const r = parseDubboProvider(encoded, IFACE);
    assert.ok(r.ok);
    assert.equal(r.value.service, 'providers:com.example.DemoService:1.0.0:g1');
    assert.equal(r.value.version, '1.0.0');
    assert.equal(r.value.group, 'g1');
    assert.deepEqual(
      { ...r.value.endpoint, metadata: undefined },
      { address: '192.168.1.5', port: 20880, weight: 100, healthy: true, protocol: 'dubbo', metadata: undefined },
    );
    assert.equal(r.value.endpoint.metadata.methods, 'sayHello,sayHi');
    assert.equal(r.value.endpoint.metadata.application, 'demo');
    assert.equal(r.value.endpoint.metadata.timestamp, '1700000000000');
  });

  test('tri, weights, no version or group, host names', () => {
    const tri = provider('tri://10.0.0.7:50051/com.example.DemoService?interface=com.example.DemoService&weight=25');
    assert.ok(tri.ok);
    assert.equal(tri.value.endpoint.protocol, 'tri');
    assert.equal(tri.value.endpoint.weight, 25);
    assert.equal(tri.value.service, 'providers:com.example.DemoService::');
    const noWeight = provider('dubbo://orders-1.svc.cluster.local:20880/com.example.DemoService');
    assert.ok(noWeight.ok);
    assert.equal(noWeight.value.endpoint.weight, 100, 'Dubbo default weight');
    assert.equal(noWeight.value.endpoint.address, 'orders-1.svc.cluster.local');
    const huge = provider('dubbo://10.0.0.7:20880/com.example.DemoService?weight=99999999');
    assert.ok(huge.ok);
    assert.equal(huge.value.endpoint.weight, 1_000_000, 'capped at the endpoint schema maximum');
    const zero = provider('dubbo://10.0.0.7:20880/com.example.DemoService?weight=0');
    assert.ok(zero.ok);
    assert.equal(zero.value.endpoint.weight, 0);
  });

  test('IPv6 in brackets and bare (last colon is the port, as Dubbo parses it)', () => {
    const bracketed = provider('dubbo://[2001:db8::5]:20880/com.example.DemoService?version=2');
    assert.ok(bracketed.ok);
    assert.equal(bracketed.value.endpoint.address, '2001:db8::5');
    assert.equal(bracketed.value.endpoint.port, 20880);
    const bare = provider('dubbo://fe80::1:20881/com.example.DemoService');
    assert.ok(bare.ok);
    assert.equal(bare.value.endpoint.address, 'fe80::1');
    assert.equal(bare.value.endpoint.port, 20881);
    assert.match(reason(provider('dubbo://[2001:db8::zz]:20880/com.example.DemoService')), /bad IPv6/);
    assert.match(reason(provider('dubbo://[2001:db8::5/com.example.DemoService')), /unclosed/);
    assert.match(reason(provider('dubbo://[2001:db8::5]/com.example.DemoService')), /missing port/);
  });

  test('disabled providers are kept with healthy: false', () => {
    const off = provider(DEMO_URL.replace('enabled=true', 'enabled=false'));
    assert.ok(off.ok);
    assert.equal(off.value.endpoint.healthy, false);
    const disabled = provider(`${DEMO_URL}&disabled=true`);
    assert.ok(disabled.ok);
    assert.equal(disabled.value.endpoint.healthy, false);
  });

  test('bad percent-encoding is skipped', () => {
    assert.equal(decodeJavaUrlComponent('a%ZZb'), undefined);
    assert.equal(decodeJavaUrlComponent('%E4%B8'), undefined, 'truncated UTF-8 sequence');
    assert.equal(decodeJavaUrlComponent('a+b%2Cc'), 'a b,c', '+ is a space in Java URL encoding');
    assert.equal(reason(parseDubboProvider(`${javaUrlEncode(DEMO_URL)}%ZZ`, IFACE)), 'bad URL encoding');
    assert.equal(reason(parseDubboProvider('dubbo%3A%2F%2F10.0.0.1%3A20880%2F%E4%B8', IFACE)), 'bad URL encoding');
  });

  test('bad ports and hosts are skipped', () => {
    for (const port of ['0', '65536', '2088o', '', '-1', '123456'])
      assert.match(reason(provider(`dubbo://10.0.0.1:${port}/com.example.DemoService`)), /bad port/, port);
    assert.match(reason(provider('dubbo://10.0.0.1/com.example.DemoService')), /missing port/);
    assert.equal(reason(provider('dubbo://:20880/com.example.DemoService')), 'missing host');
    assert.equal(reason(provider('dubbo:///com.example.DemoService')), 'missing host');
    assert.match(reason(provider('dubbo://10.0.0.300:20880/com.example.DemoService')), /bad IPv4/);
    assert.match(reason(provider('dubbo://0.0.0.0:20880/com.example.DemoService')), /unroutable/);
    assert.match(reason(provider('dubbo://bad_host!:20880/com.example.DemoService')), /bad host/);
    assert.match(reason(provider('com.example.DemoService')), /not a URL/);
  });

  test('consumers, other categories and other protocols are skipped', () => {
    assert.match(reason(provider(DEMO_URL.replace('side=provider', 'side=consumer'))), /side "consumer"/);
    assert.match(reason(provider(`${DEMO_URL}&category=routers`)), /category "routers"/);
    assert.ok(provider(`${DEMO_URL}&category=providers`).ok);
    assert.match(reason(provider(DEMO_URL.replace('dubbo://', 'rest://'))), /protocol "rest"/);
    assert.match(reason(provider(DEMO_URL.replace('dubbo://', 'empty://'))), /protocol "empty"/);
  });

  test('an interface other than its directory is skipped', () => {
    assert.match(
      reason(provider(DEMO_URL, 'com.example.OtherService')),
      /interface "com.example.DemoService" registered under "com.example.OtherService"/,
    );
    // No interface parameter: the URL path is the interface.
    assert.ok(provider('dubbo://10.0.0.1:20880/com.example.DemoService?version=1').ok);
  });

  test('bad weights are skipped', () => {
    for (const w of ['abc', '-5', '1.5', ''])
      assert.match(reason(provider(`${DEMO_URL.replace('weight=100', `weight=${w}`)}`)), /bad weight/, w);
  });

  test('URL details: credentials dropped, bare parameters, repeated names, spaces', () => {
    const url = parseDubboUrl('dubbo://admin:secret@10.0.0.1:20880/a/b?x&y=1&y=2&note=two words&=skip');
    assert.ok(url.ok);
    assert.equal(url.value.host, '10.0.0.1');
    assert.equal(url.value.path, 'a/b');
    assert.deepEqual(url.value.params, { x: 'x', y: '2', note: 'two words' });
    assert.ok(!JSON.stringify(url.value).includes('secret'));
    const proto = parseDubboProvider(javaUrlEncode(`${DEMO_URL}&__proto__=x`), IFACE);
    assert.ok(proto.ok);
    assert.equal(Object.getPrototypeOf(proto.value.endpoint.metadata), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(proto.value.endpoint.metadata, '__proto__')?.value, 'x');
  });
});

/** Curator's JSON for a ServiceInstance<ZookeeperInstance>, as Spring Cloud Zookeeper writes it. */
function springInstance(over: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): string {
  const instance = { name: 'orders', id: '2c5b6a58-4d0e-4b8e-9a3c-6c1c1f0e7a11', address: '10.0.0.9', port: 8081 };
  return JSON.stringify(springZookeeperInstance({ ...instance, metadata }, over));
}

function dubboInstance(endpoints: unknown, metadata: Record<string, string> = {}): string {
  return JSON.stringify({
    name: 'demo-provider',
    id: '10.0.0.5:20880',
    address: '10.0.0.5',
    port: 20880,
    sslPort: null,
    payload: {
      '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance',
      id: null,
      name: 'demo-provider',
      metadata: {
        ...(endpoints === undefined
          ? {}
          : { 'dubbo.endpoints': typeof endpoints === 'string' ? endpoints : JSON.stringify(endpoints) }),
        'dubbo.metadata.revision': 'a1b2c3',
        'dubbo.metadata.storage-type': 'local',
        timestamp: '1700000000000',
        ...metadata,
      },
    },
    registrationTimeUTC: 1_700_000_000_000,
    serviceType: 'DYNAMIC',
    uriSpec: null,
  });
}

function instanceReason(data: string | null): string {
  const r = parseCuratorInstance(data);
  assert.equal(r.ok, false, 'expected the instance to be skipped');
  return r.ok ? '' : r.reason;
}

describe('Curator instances', () => {
  test('Spring Cloud Zookeeper: http, weight metadata x100, zone, status', () => {
    const r = parseCuratorInstance(Buffer.from(springInstance({}, { zone: 'zone-a', weight: '2', version: 3 })));
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      address: '10.0.0.9',
      port: 8081,
      weight: 200,
      healthy: true,
      protocol: 'http',
      zone: 'zone-a',
      metadata: { instance_status: 'UP', zone: 'zone-a', weight: '2', version: '3' },
    });
    const plain = parseCuratorInstance(springInstance());
    assert.ok(plain.ok);
    assert.equal(plain.value.weight, 100, 'Spring Cloud default weight 1 -> 100');
    assert.equal(plain.value.zone, undefined);
    const half = parseCuratorInstance(springInstance({}, { weight: '0.5' }));
    assert.ok(half.ok);
    assert.equal(half.value.weight, 50);
  });

  test('OUT_OF_SERVICE and enabled:false are kept with healthy: false', () => {
    const oos = parseCuratorInstance(springInstance({}, { instance_status: 'OUT_OF_SERVICE' }));
    assert.ok(oos.ok);
    assert.equal(oos.value.healthy, false);
    const up = parseCuratorInstance(springInstance({}, { instance_status: 'up' }));
    assert.ok(up.ok);
    assert.equal(up.value.healthy, true);
    const disabled = parseCuratorInstance(springInstance({ enabled: false }));
    assert.ok(disabled.ok);
    assert.equal(disabled.value.healthy, false);
    const noStatus = parseCuratorInstance(springInstance({ payload: null }));
    assert.ok(noStatus.ok);
    assert.equal(noStatus.value.healthy, true);
    assert.deepEqual(noStatus.value.metadata, {});
  });

  test('sslPort wins over port and marks the endpoint secure', () => {
    const r = parseCuratorInstance(springInstance({ sslPort: 8443 }));
    assert.ok(r.ok);
    assert.equal(r.value.port, 8443);
    assert.equal(r.value.metadata.secure, 'true');
    assert.match(instanceReason(springInstance({ sslPort: 0 })), /bad sslPort/);
  });

  test('Dubbo 3 application-level: protocol and port from dubbo.endpoints, tri first', () => {
    const both = parseCuratorInstance(
      dubboInstance([
        { port: 20880, protocol: 'dubbo' },
        { port: 50051, protocol: 'tri' },
      ]),
    );
    assert.ok(both.ok);
    assert.equal(both.value.protocol, 'tri');
    assert.equal(both.value.port, 50051);
    assert.equal(both.value.weight, 100);
    assert.equal(both.value.metadata['dubbo.metadata.revision'], 'a1b2c3');
    const dubbo = parseCuratorInstance(dubboInstance([{ port: 20880, protocol: 'dubbo' }], { weight: '40' }));
    assert.ok(dubbo.ok);
    assert.equal(dubbo.value.protocol, 'dubbo');
    assert.equal(dubbo.value.port, 20880);
    assert.equal(dubbo.value.weight, 40, 'Dubbo weights are on Dubbo scale already');
    const rest = parseCuratorInstance(dubboInstance([{ port: 8080, protocol: 'rest' }]));
    assert.ok(rest.ok);
    assert.equal(rest.value.protocol, 'http');
    assert.equal(rest.value.port, 20880, 'the instance port');
    const none = parseCuratorInstance(dubboInstance(undefined));
    assert.ok(none.ok);
    assert.equal(none.value.protocol, 'http');
  });

  test('garbage is skipped with a reason', () => {
    assert.equal(instanceReason(null), 'no instance data');
    assert.equal(instanceReason('  '), 'no instance data');
    assert.equal(instanceReason('{"address": "10.0.0.1", "port": 80'), 'instance data is not JSON');
    assert.equal(instanceReason('[1,2]'), 'instance data is not a JSON object');
    assert.equal(instanceReason(springInstance({ address: null })), 'missing address');
    assert.match(instanceReason(springInstance({ address: '10.0.0.256' })), /bad IPv4/);
    assert.match(instanceReason(springInstance({ port: null })), /bad port null/);
    assert.match(instanceReason(springInstance({ port: 0 })), /bad port 0/);
    assert.match(instanceReason(springInstance({ port: '80a' })), /bad port/);
    assert.match(instanceReason(springInstance({ payload: 'x' })), /payload is not a JSON object/);
    assert.match(instanceReason(springInstance({ payload: { metadata: [1] } })), /metadata is not a JSON object/);
    assert.match(instanceReason(springInstance({}, { weight: 'heavy' })), /bad weight "heavy"/);
    assert.match(instanceReason(springInstance({}, { weight: '-1' })), /bad weight/);
    assert.match(instanceReason(dubboInstance('not json')), /bad dubbo.endpoints/);
    assert.match(instanceReason(dubboInstance([{ port: 0, protocol: 'tri' }])), /bad dubbo.endpoints/);
    assert.match(instanceReason(dubboInstance({ port: 1, protocol: 'tri' })), /bad dubbo.endpoints/);
    assert.match(instanceReason(dubboInstance([], { weight: '1.5' })), /bad weight/);
  });

  test('IPv6 instance addresses, with or without brackets', () => {
    const bare = parseCuratorInstance(springInstance({ address: '2001:db8::9' }));
    assert.ok(bare.ok);
    assert.equal(bare.value.address, '2001:db8::9');
    const bracketed = parseCuratorInstance(springInstance({ address: '[2001:db8::9]' }));
    assert.ok(bracketed.ok);
    assert.equal(bracketed.value.address, '2001:db8::9');
  });
});
