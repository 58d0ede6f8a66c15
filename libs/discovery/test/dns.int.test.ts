/** The DNS source against a real DNS server (dnsmasq), records changed under it. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RegistrySpec } from '@portico/config';
import { type DnsmasqServer, type DnsRecords, startDnsmasq, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { dnsSource } from '../src/sources/dns/dns-source.ts';
import { RecordingSink } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

function spec(input: Record<string, unknown>): SpecOf<'dns'> {
  return RegistrySpec.parse({ type: 'dns', ...input }) as SpecOf<'dns'>;
}

const addressesOf = (sink: RecordingSink, service: string) =>
  sink.services
    .get(service)
    ?.endpoints.map((e) => `${e.address}:${e.port}`)
    .sort();

describe('dns source (dnsmasq)', () => {
  let dns: DnsmasqServer;
  let records: DnsRecords;
  const sources: DiscoverySource[] = [];
  const sink = new RecordingSink();
  const latencies: number[] = [];

  const setRecords = (next: DnsRecords) => {
    records = next;
    return dns.setRecords(next);
  };

  before(async () => {
    records = {
      hosts: {
        'web.test': ['127.0.1.1', '::1'],
        'api-a.test': ['127.0.2.1'],
        'api-b.test': ['127.0.2.2'],
        'api-c.test': ['127.0.2.3'],
      },
      srv: {
        '_http._tcp.api.test': [
          { target: 'api-a.test', port: 9001, priority: 10, weight: 3 },
          { target: 'api-b.test', port: 9002, priority: 10, weight: 1 },
          { target: 'api-c.test', port: 9003, priority: 20, weight: 5 },
        ],
      },
    };
    dns = await startDnsmasq({ records });
    const source = dnsSource({
      name: 'dns',
      sink,
      spec: spec({
        addresses: [dns.address],
        minTtl: '100ms',
        names: [
          // A and AAAA of one name merged into one service.
          { name: 'web', host: 'web.test', type: 'A', port: 8080 },
          { name: 'web', host: 'web.test', type: 'AAAA', port: 8080 },
          { name: 'api', host: '_http._tcp.api.test', type: 'SRV', protocol: 'grpc' },
          { host: 'later.test', port: 7000 },
        ],
      }),
    });
    sources.push(source);
    await source.start();
  });

  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    await dns?.stop();
  });

  test('initial snapshot: A+AAAA merged, SRV with priorities and weights, a missing name with zero endpoints', () => {
    const snap = sink.calls.find((c) => c.type === 'snapshot');
    assert.ok(snap, 'a snapshot after start');
    assert.deepEqual(addressesOf(sink, 'web'), ['127.0.1.1:8080', '::1:8080']);
    const web = sink.services.get('web')!;
    assert.ok(web.endpoints.every((e) => e.weight === 100 && e.healthy && e.protocol === 'http'));
    const api = sink.services.get('api')!;
    assert.deepEqual(
      api.endpoints.map((e) => [e.address, e.port, e.weight, e.healthy, e.protocol]),
      [
        ['127.0.2.1', 9001, 3, true, 'grpc'],
        ['127.0.2.2', 9002, 1, true, 'grpc'],
        ['127.0.2.3', 9003, 5, false, 'grpc'],
      ],
    );
    assert.deepEqual(sink.services.get('later.test')?.endpoints, []);
  });

  test('an unchanged answer is not re-published', async () => {
    const before = sink.calls.length;
    await new Promise((r) => setTimeout(r, 2500)); // more than two TTLs: every name re-resolved at least twice
    assert.deepEqual(sink.calls.slice(before), []);
  });

  test('an address added, a name appearing, a name removed (NXDOMAIN -> zero endpoints)', async (t) => {
    let at = Date.now();
    await setRecords({ ...records, hosts: { ...records.hosts, 'web.test': ['127.0.1.1', '127.0.1.2', '::1'] } });
    await waitUntil('web with 3 endpoints', () => addressesOf(sink, 'web')?.length === 3, WAIT);
    latencies.push(Date.now() - at);

    at = Date.now();
    await setRecords({ ...records, hosts: { ...records.hosts, 'later.test': ['127.0.3.1'] } });
    await waitUntil('later.test resolved', () => addressesOf(sink, 'later.test')?.[0] === '127.0.3.1:7000', WAIT);
    latencies.push(Date.now() - at);

    at = Date.now();
    const { 'web.test': _gone, ...rest } = records.hosts!;
    await setRecords({ ...records, hosts: rest });
    await waitUntil('web empty after NXDOMAIN', () => addressesOf(sink, 'web')?.length === 0, WAIT);
    latencies.push(Date.now() - at);
    assert.ok(sink.services.has('web'), 'an NXDOMAIN name stays a service (zero endpoints), it is not removed');
    assert.equal(sink.calls.filter((c) => c.type === 'down' || c.type === 'remove').length, 0);
    t.diagnostic(`record change -> update(): ${latencies.join(', ')} ms (TTL 1 s)`);
  });

  test('SRV changes: weight, priority, a target without addresses skipped while the rest flows', async () => {
    await setRecords({
      ...records,
      srv: {
        '_http._tcp.api.test': [
          { target: 'api-a.test', port: 9001, priority: 10, weight: 3 },
          { target: 'api-b.test', port: 9002, priority: 30, weight: 1 },
          { target: 'api-c.test', port: 9003, priority: 5, weight: 8 },
          { target: 'api-x.test', port: 9004, priority: 5, weight: 1 },
        ],
      },
    });
    await waitUntil(
      'api-c promoted to the best priority',
      () => sink.services.get('api')?.endpoints.find((e) => e.port === 9003)?.healthy === true,
      WAIT,
    );
    const api = sink.services.get('api')!;
    assert.deepEqual(
      api.endpoints.map((e) => [e.port, e.weight, e.healthy]),
      [
        [9001, 3, false],
        [9002, 1, false],
        [9003, 8, true],
      ],
    );
    await waitUntil(
      'the target without addresses reported',
      () => sink.calls.some((c) => c.type === 'skipped' && c.service === 'api' && /api-x\.test/.test(c.reason)),
      WAIT,
    );
    const skips = sink.calls.filter((c) => c.type === 'skipped');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sink.calls.filter((c) => c.type === 'skipped').length, skips.length, 'reported once, not per lookup');
  });

  test('resolver down: down() once, endpoints kept; back with a change made meanwhile: snapshot', async () => {
    const known = addressesOf(sink, 'api');
    const callsBefore = sink.calls.length;
    await dns.stop();
    await waitUntil('down() after every name failed', () => !sink.connected, WAIT);
    await new Promise((r) => setTimeout(r, 1500));
    const during = sink.calls.slice(callsBefore);
    assert.equal(during.filter((c) => c.type === 'down').length, 1, 'down() once per outage');
    assert.deepEqual(
      during.filter((c) => c.type !== 'down'),
      [],
    );
    assert.deepEqual(addressesOf(sink, 'api'), known, 'the last answer is kept');

    await setRecords({ ...records, hosts: { ...records.hosts, 'web.test': ['127.0.1.9'] } });
    await dns.start();
    await waitUntil('snapshot after the resolver is back', () => sink.connected, WAIT);
    await waitUntil('the change made while away', () => addressesOf(sink, 'web')?.[0] === '127.0.1.9:8080', WAIT);
    assert.equal(sink.calls.slice(callsBefore).filter((c) => c.type === 'snapshot').length >= 1, true);
  });

  test('minTtl is a floor on the TTL: a 1 s record is not re-asked before minTtl', async () => {
    const slow = new RecordingSink();
    const source = dnsSource({
      name: 'slow',
      sink: slow,
      spec: spec({ addresses: [dns.address], minTtl: '3s', names: [{ host: 'floor.test', port: 80 }] }),
    });
    sources.push(source);
    await setRecords({ ...records, hosts: { ...records.hosts, 'floor.test': ['127.0.4.1'] } });
    await source.start();
    assert.deepEqual(addressesOf(slow, 'floor.test'), ['127.0.4.1:80']);
    const at = Date.now();
    await setRecords({ ...records, hosts: { ...records.hosts, 'floor.test': ['127.0.4.2'] } });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(addressesOf(slow, 'floor.test'), ['127.0.4.1:80'], 'not re-resolved at the 1 s TTL');
    await waitUntil('picked up at minTtl', () => addressesOf(slow, 'floor.test')?.[0] === '127.0.4.2:80', {
      timeoutMs: 5000,
    });
    assert.ok(Date.now() - at >= 2000, `picked up after ${Date.now() - at} ms`);
  });

  test('a resolver address that is not an IP is refused up front', () => {
    assert.throws(
      () =>
        dnsSource({ name: 'x', sink, spec: spec({ addresses: ['dns.example:53'], names: [{ host: 'a', port: 1 }] }) }),
      (e: Error & { code?: string }) =>
        e.code === 'PORTICO_ERR_DISCOVERY_DNS_OPTIONS' && /addresses\[0\]/.test(e.message),
    );
  });
});
