/** SRV answers as endpoints, without a resolver. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { srvEndpoints } from '../src/sources/dns/srv.ts';

const addrs = new Map([
  ['a.test', ['10.0.0.1']],
  ['b.test', ['10.0.0.2', '::2']],
  ['c.test', ['10.0.0.3']],
  ['none.test', []],
]);

test('lowest priority group healthy, the others published unhealthy; weight and port from the record', () => {
  const eps = srvEndpoints(
    [
      { name: 'b.test', port: 8081, priority: 10, weight: 3 },
      { name: 'a.test', port: 8080, priority: 10, weight: 1 },
      { name: 'c.test', port: 9000, priority: 20, weight: 5 },
    ],
    addrs,
    'grpc',
  );
  assert.deepEqual(
    eps.map((e) => [e.address, e.port, e.weight, e.healthy, e.protocol, e.metadata.priority]),
    [
      ['10.0.0.1', 8080, 1, true, 'grpc', '10'],
      ['10.0.0.2', 8081, 3, true, 'grpc', '10'],
      ['10.0.0.3', 9000, 5, false, 'grpc', '20'],
      ['::2', 8081, 3, true, 'grpc', '10'],
    ],
  );
});

test('a group whose weights are all 0 shares evenly (weight 1 each), a 0 beside non-zero weights stays 0', () => {
  const even = srvEndpoints(
    [
      { name: 'a.test', port: 1, priority: 0, weight: 0 },
      { name: 'c.test', port: 2, priority: 0, weight: 0 },
    ],
    addrs,
    'http',
  );
  assert.deepEqual(
    even.map((e) => e.weight),
    [1, 1],
  );
  const mixed = srvEndpoints(
    [
      { name: 'a.test', port: 1, priority: 0, weight: 0 },
      { name: 'c.test', port: 2, priority: 0, weight: 7 },
    ],
    addrs,
    'http',
  );
  assert.deepEqual(
    mixed.map((e) => e.weight),
    [0, 7],
  );
});

test('target "." and targets without addresses give no endpoints; the order does not depend on the answer order', () => {
  const records = [
    { name: '.', port: 1, priority: 0, weight: 1 },
    { name: 'none.test', port: 2, priority: 0, weight: 1 },
    { name: 'c.test', port: 3, priority: 0, weight: 1 },
    { name: 'a.test', port: 4, priority: 0, weight: 1 },
  ];
  const one = srvEndpoints(records, addrs, 'http');
  const two = srvEndpoints([...records].reverse(), addrs, 'http');
  assert.deepEqual(
    one.map((e) => e.address),
    ['10.0.0.1', '10.0.0.3'],
  );
  assert.deepEqual(one, two);
  assert.deepEqual(srvEndpoints([{ name: '.', port: 0, priority: 0, weight: 0 }], addrs, 'http'), []);
});
