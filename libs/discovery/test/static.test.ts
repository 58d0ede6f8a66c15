import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistrySpec } from '@portico/config';
import type { SpecOf } from '../src/index.ts';
import { staticSource } from '../src/sources/static/static-source.ts';
import { RecordingSink } from './recording-sink.ts';

test('static: one snapshot at start; weight x100 (default 1), protocol and zone from the entry, all healthy', async () => {
  const spec = RegistrySpec.parse({
    type: 'static',
    static: [
      {
        name: 'orders',
        endpoints: [
          { address: '10.0.0.1', port: 8080 },
          { address: '10.0.0.2', port: 8080, weight: 3, zone: 'z1' },
        ],
      },
      { name: 'rpc', protocol: 'grpc', endpoints: [{ address: 'rpc.internal', port: 50051, weight: 0 }] },
      { name: 'empty', endpoints: [] },
    ],
  }) as SpecOf<'static'>;
  const sink = new RecordingSink();
  const source = staticSource({ name: 'fixed', spec, sink });
  await source.start();
  await source.stop();
  assert.deepEqual(
    sink.calls.map((c) => c.type),
    ['snapshot'],
  );
  assert.deepEqual(sink.services.get('orders')?.endpoints, [
    { address: '10.0.0.1', port: 8080, weight: 100, healthy: true, protocol: 'http', metadata: {} },
    { address: '10.0.0.2', port: 8080, weight: 300, healthy: true, protocol: 'http', metadata: {}, zone: 'z1' },
  ]);
  assert.deepEqual(sink.services.get('rpc')?.endpoints, [
    { address: 'rpc.internal', port: 50051, weight: 0, healthy: true, protocol: 'grpc', metadata: {} },
  ]);
  assert.deepEqual(sink.services.get('empty')?.endpoints, []);
});
