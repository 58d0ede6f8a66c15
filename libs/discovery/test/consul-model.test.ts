/**
 * Consul source, pure parts: health entries -> endpoints (fixtures in the shape of Consul's documented
 * /v1/health/service response), service selection, addresses, and the blocking-query loop's index rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Fetched } from '../src/sources/consul/client.ts';
import { buildService, parseAddress, selectServices, toEndpoint } from '../src/sources/consul/model.ts';
import { BlockingWatch, TokenBucket } from '../src/sources/consul/watch.ts';

/** An entry as GET /v1/health/service/:name returns it (the sample in Consul's health API docs, trimmed). */
function entry(service: Record<string, unknown>, statuses: string[] = ['passing', 'passing']) {
  return {
    Node: { ID: '40e4a748', Node: 'foobar', Address: '10.1.10.12', Datacenter: 'dc1', Meta: {} },
    Service: {
      ID: 'redis',
      Service: 'redis',
      Tags: ['primary'],
      Address: '10.1.10.13',
      Meta: { redis_version: '4.0' },
      Port: 8000,
      Weights: { Passing: 10, Warning: 1 },
      ...service,
    },
    Checks: statuses.map((Status, i) => ({
      Node: 'foobar',
      CheckID: i === 0 ? 'serfHealth' : `service:redis:${i}`,
      Status,
      ServiceID: i === 0 ? '' : 'redis',
    })),
  };
}

describe('consul model: toEndpoint', () => {
  test('address, port, Weights.Passing x100, Meta as strings, healthy when every check passes', () => {
    assert.deepEqual(toEndpoint(entry({})), {
      endpoint: {
        address: '10.1.10.13',
        port: 8000,
        weight: 1000,
        healthy: true,
        protocol: 'http',
        metadata: { redis_version: '4.0' },
      },
    });
  });

  test('Service.Address empty -> Node.Address; no Weights -> 100; no checks -> healthy', () => {
    const r = toEndpoint({ Node: { Address: '10.0.0.9' }, Service: { ID: 'a', Port: 80, Address: '' } });
    assert.ok('endpoint' in r);
    assert.equal(r.endpoint.address, '10.0.0.9');
    assert.equal(r.endpoint.weight, 100);
    assert.equal(r.endpoint.healthy, true);
  });

  test('warning, critical or maintenance on any check (node or service) -> healthy: false', () => {
    for (const statuses of [
      ['passing', 'warning'],
      ['passing', 'critical'],
      ['critical', 'passing'],
      ['passing', 'passing', 'critical'],
    ]) {
      const r = toEndpoint(entry({}, statuses));
      assert.ok('endpoint' in r);
      assert.equal(r.endpoint.healthy, false, statuses.join(','));
    }
  });

  test('protocol from Meta.protocol, else a grpc/dubbo/tri tag; an unknown protocol is skipped', () => {
    const proto = (service: Record<string, unknown>) => {
      const r = toEndpoint(entry(service));
      return 'endpoint' in r ? r.endpoint.protocol : 'skip' in r ? `skip: ${r.skip.reason}` : 'filtered';
    };
    assert.equal(proto({ Meta: { protocol: 'GRPC' } }), 'grpc');
    assert.equal(proto({ Meta: { protocol: 'http2' } }), 'http2');
    assert.equal(proto({ Tags: ['dubbo', 'v1'], Meta: {} }), 'dubbo');
    assert.equal(proto({ Tags: ['gRPC'], Meta: {} }), 'grpc');
    assert.equal(proto({ Tags: ['grpc'], Meta: { protocol: 'http' } }), 'http', 'Meta wins over tags');
    assert.match(proto({ Meta: { protocol: 'tcp' } }), /^skip: instance redis: unsupported protocol "tcp"/);
  });

  test('bad port, bad address, bad weights, non-object Meta, no Service: skipped with the reason and raw', () => {
    const reason = (e: unknown) => {
      const r = toEndpoint(e);
      assert.ok('skip' in r, JSON.stringify(r));
      return r.skip.reason;
    };
    assert.match(reason(entry({ Port: 0 })), /bad port 0/);
    assert.match(reason(entry({ Port: 70000 })), /bad port 70000/);
    assert.match(reason(entry({ Port: '80' })), /bad port "80"/);
    assert.match(reason(entry({ Address: 'not a host!' })), /bad address "not a host!"/);
    assert.match(reason(entry({ Address: '300.1.1.1' })), /bad address/);
    assert.match(reason(entry({ Weights: { Passing: -1 } })), /bad Weights/);
    assert.match(reason(entry({ Meta: 'x=y' })), /Meta is not an object/);
    assert.match(reason({ Node: {} }), /without a Service/);
    const r = toEndpoint(entry({ Port: 0 }));
    assert.ok('skip' in r && JSON.parse(r.skip.raw).ID === 'redis', 'raw is the Service as Consul sent it');
  });

  test('hostnames and IPv6 are addresses; a huge weight is capped', () => {
    for (const address of ['orders.internal', 'node-1.dc1.consul', '::1', 'fe80::1']) {
      const r = toEndpoint(entry({ Address: address }));
      assert.ok('endpoint' in r, address);
    }
    const r = toEndpoint(entry({ Weights: { Passing: 65535, Warning: 1 } }));
    assert.ok('endpoint' in r && r.endpoint.weight === 1_000_000);
  });

  test('the tag filter leaves out instances without every tag (not a skip)', () => {
    assert.deepEqual(toEndpoint(entry({ Tags: ['primary'] }), ['primary', 'v2']), { filtered: true });
    assert.ok('endpoint' in toEndpoint(entry({ Tags: ['v2', 'primary'] }), ['primary', 'v2']));
  });
});

describe('consul model: buildService, selectServices, parseAddress', () => {
  test('a service keeps good instances sorted, reports bad ones, revision = index', () => {
    const built = buildService(
      'redis',
      [
        entry({ ID: 'b', Address: '10.0.0.2' }),
        entry({ ID: 'bad', Port: -1 }),
        entry({ ID: 'a', Address: '10.0.0.1' }),
      ],
      42n,
    );
    assert.ok(built);
    assert.equal(built.service.revision, '42');
    assert.deepEqual(
      built.service.endpoints.map((e) => e.address),
      ['10.0.0.1', '10.0.0.2'],
    );
    assert.deepEqual(
      built.skipped.map((s) => s.key),
      ['bad|instance bad: bad port -1'],
    );
    assert.equal(buildService('x', { not: 'a list' }, 1n), undefined);
  });

  test('selectServices: the names filter and every required tag on the service, sorted', () => {
    const catalog = { web: ['v1', 'prod'], api: ['prod'], consul: [], legacy: null };
    assert.deepEqual(selectServices(catalog, {}), ['api', 'consul', 'legacy', 'web']);
    assert.deepEqual(selectServices(catalog, { tags: ['prod'] }), ['api', 'web']);
    assert.deepEqual(selectServices(catalog, { tags: ['prod', 'v1'] }), ['web']);
    assert.deepEqual(selectServices(catalog, { services: ['web', 'nope'] }), ['web']);
    assert.throws(() => selectServices(['web'], {}), { code: 'PORTICO_ERR_DISCOVERY_CONSUL_RESPONSE' });
  });

  test('parseAddress: host:port, IPv6 in brackets, http(s) URLs', () => {
    assert.deepEqual(parseAddress('127.0.0.1:8500'), {
      host: '127.0.0.1',
      port: 8500,
      secure: false,
      label: '127.0.0.1:8500',
    });
    assert.deepEqual(parseAddress('[::1]:8500').host, '[::1]');
    assert.deepEqual(parseAddress('https://consul.example:8501'), {
      host: 'consul.example',
      port: 8501,
      secure: true,
      label: 'https://consul.example:8501',
    });
    assert.equal(parseAddress('http://consul.example').port, 80);
  });
});

describe('consul blocking loop', () => {
  /** A scripted server: answers in order, then blocks until stopped. */
  function scripted(answers: Fetched[]) {
    const asked: bigint[] = [];
    const fetch = (index: bigint) => {
      asked.push(index);
      const next = answers.shift();
      return next ? Promise.resolve(next) : new Promise<Fetched>(() => {});
    };
    return { asked, fetch };
  }

  test('reports index moves only, resets when the index goes backwards, never blocks below 1', async () => {
    const server = scripted([
      { index: 10n, body: 'a' },
      { index: 10n, body: 'a' }, // wait elapsed, no change
      { index: 12n, body: 'b' },
      { index: 3n, body: 'c' }, // went backwards: a reset, taken as current
      { index: 0n, body: 'd' }, // a buggy zero
      { index: 5n, body: 'e' },
    ]);
    const seen: string[] = [];
    const watch = new BlockingWatch({
      index: 0n,
      fetch: server.fetch,
      onChange: (body, index) => seen.push(`${body}@${index}`),
      onError: (err) => assert.fail(String(err)),
    });
    await new Promise((r) => setTimeout(r, 1_000)); // 7 reads: a burst of 4, then one per 250 ms
    watch.stop();
    assert.deepEqual(seen, ['a@10', 'b@12', 'c@3', 'd@0', 'e@5']);
    assert.deepEqual(server.asked, [0n, 10n, 10n, 12n, 3n, 1n, 5n]);
  });

  test('an error ends the loop through onError; a reset connection is retried once first', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    let calls = 0;
    const errors: unknown[] = [];
    const watch = new BlockingWatch({
      index: 5n,
      fetch: () => {
        calls++;
        return Promise.reject(reset);
      },
      onChange: () => assert.fail('no change expected'),
      onError: (err) => errors.push(err),
    });
    await new Promise((r) => setTimeout(r, 50));
    watch.stop();
    assert.equal(calls, 2);
    assert.deepEqual(errors, [reset]);
  });

  test('token bucket: a burst, then paced', () => {
    const bucket = new TokenBucket(2, 100, 0);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 100);
    assert.equal(bucket.take(50), 50);
    assert.equal(bucket.take(100), 0);
  });
});
