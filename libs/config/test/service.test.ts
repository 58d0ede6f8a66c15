import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service } from '../src/index.ts';
import { doc, errorsOf, paths, valid } from './helpers.ts';

test('defaults: protocol http, round robin, endpoint weight 1, health check timings', () => {
  const s = valid(
    doc('Service', { endpoints: [{ address: '10.0.0.1', port: 80 }], healthCheck: {}, outlierDetection: {} }),
  ) as Service;
  assert.equal(s.spec.protocol, 'http');
  assert.deepEqual(s.spec.loadBalancer, { type: 'RoundRobin' });
  assert.equal(s.spec.endpoints[0]?.weight, 1);
  assert.deepEqual(s.spec.healthCheck, {
    path: '/',
    interval: '5s',
    timeout: '1s',
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  });
  assert.deepEqual(s.spec.outlierDetection, {
    consecutive5xx: 5,
    consecutiveConnectFailures: 3,
    baseEjectionTime: '30s',
    maxEjectionPercent: 50,
  });
  assert.deepEqual((valid(doc('Service', {})) as Service).spec.endpoints, []);
});

test('endpoint mistakes are reported by index', () => {
  const errors = errorsOf(
    doc('Service', {
      endpoints: [
        { address: 'a', port: 80 },
        { address: '', port: 70000 },
      ],
      protocol: 'ftp',
    }),
  );
  assert.deepEqual(paths(errors).sort(), ['spec.endpoints[1].address', 'spec.endpoints[1].port', 'spec.protocol']);
});

test('ConsistentHash needs exactly one hash source', () => {
  assert.deepEqual(paths(errorsOf(doc('Service', { loadBalancer: { type: 'ConsistentHash' } }))), [
    'spec.loadBalancer.consistentHash',
  ]);
  const two = errorsOf(
    doc('Service', { loadBalancer: { type: 'ConsistentHash', consistentHash: { header: 'a', cookie: 'b' } } }),
  );
  assert.match(two[0]!.message, /exactly one of header, cookie or sourceIP/);
  valid(doc('Service', { loadBalancer: { type: 'ConsistentHash', consistentHash: { sourceIP: true } } }));
});

test('a Certificate takes exactly one of pem or file for each part', () => {
  const errors = errorsOf(doc('Certificate', { certificate: { pem: 'a', file: 'b' }, privateKey: {} }));
  assert.deepEqual(paths(errors), ['spec.certificate', 'spec.privateKey']);
  valid(doc('Certificate', { certificate: { file: '/c.pem' }, privateKey: { file: '/k.pem' } }));
});

test('envelope: apiVersion, kind and metadata.name are checked first, by name', () => {
  assert.deepEqual(errorsOf({ ...doc('Route', {}), apiVersion: 'v1' }), [
    { path: 'apiVersion', message: 'must be "portico.dev/v1"' },
  ]);
  assert.deepEqual(paths(errorsOf(doc('Widget', {}))), ['kind']);
  assert.deepEqual(paths(errorsOf(doc('Service', {}, 'Bad_Name'))), ['metadata.name']);
  assert.deepEqual(paths(errorsOf('a string')), ['']);
  assert.deepEqual(paths(errorsOf({ apiVersion: 'portico.dev/v1', kind: 'Service', spec: {} })), ['metadata']);
});
