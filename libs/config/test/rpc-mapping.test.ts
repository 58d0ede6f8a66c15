import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kindFromName, kindPlural, RPC_MAPPING_MAX_METHODS, type RpcMapping, validateResource } from '../src/index.ts';
import { doc, errorsOf, paths, valid } from './helpers.ts';

const ORDERS = {
  interface: 'com.example.OrderService',
  version: '1.0.0',
  group: 'shop',
  methods: [
    {
      name: 'getOrder',
      http: { method: 'GET', path: '/orders/{id}' },
      params: [
        { from: 'path', name: 'id', type: 'long' },
        { from: 'query', name: 'fields', type: 'java.util.List<java.lang.String>' },
        { from: 'header', name: 'X-User', type: 'java.lang.String', required: true },
      ],
      attachments: [{ header: 'x-tenant', key: 'tenant' }],
    },
    {
      name: 'createOrder',
      http: { method: 'POST', path: '/orders' },
      params: [{ from: 'body', type: 'com.example.Order', required: true }],
    },
    {
      name: 'addItems',
      http: { method: 'POST', path: '/orders/{orderId}/items' },
      params: [
        { from: 'path', name: 'orderId', type: 'java.lang.Long' },
        { from: 'body', name: 'items', type: 'java.util.List<com.example.Item>' },
        { from: 'body', name: 'note', type: 'java.lang.String' },
      ],
    },
    { name: 'latest', http: { method: 'GET', path: '/orders/latest' } },
    {
      name: 'bytes',
      http: { method: 'PUT', path: '/blobs/{key}' },
      params: [
        { from: 'path', name: 'key', type: 'java.lang.String' },
        { from: 'body', type: '[B' },
      ],
    },
  ],
};

/** The error paths of an RpcMapping spec, sorted ([] when it is valid). */
function specErrors(spec: unknown): string[] {
  const result = validateResource(doc('RpcMapping', spec));
  return result.ok ? [] : paths(result.errors).sort();
}

function withMethod(method: Record<string, unknown>): Record<string, unknown> {
  return { interface: 'com.example.S', methods: [method] };
}

test('a good mapping passes, with params defaulted to none', () => {
  const r = valid(doc('RpcMapping', ORDERS)) as RpcMapping;
  assert.equal(r.kind, 'RpcMapping');
  assert.equal(r.spec.methods.length, 5);
  assert.deepEqual(r.spec.methods[3]?.params, []);
  assert.equal(kindFromName('rpcmappings'), 'RpcMapping');
  assert.equal(kindPlural('RpcMapping'), 'rpcmappings');
});

test('Java types follow the Dubbo grammar: generics, wildcards, arrays, JVM descriptors', () => {
  for (const type of [
    'int',
    'java.util.Map<java.lang.String, java.lang.Object>',
    'java.util.List<? extends com.example.Item>',
    'java.util.Map<java.lang.String,java.util.List<com.example.Item[]>>',
    'com.example.Item[][]',
    'java.lang.String...',
    '[Ljava.lang.String;',
    '[[I',
  ]) {
    valid(
      doc(
        'RpcMapping',
        withMethod({ name: 'm', http: { method: 'POST', path: '/m' }, params: [{ from: 'body', type }] }),
      ),
    );
  }
  for (const type of ['java.util.List<', 'List<int>>', '1abc', '[X', '[Ljava.lang.String', 'a b', '']) {
    const errors = errorsOf(
      doc(
        'RpcMapping',
        withMethod({ name: 'm', http: { method: 'POST', path: '/m' }, params: [{ from: 'body', type }] }),
      ),
    );
    assert.deepEqual(paths(errors), ['spec.methods[0].params[0].type'], type);
  }
});

test('path templates: literal segments and whole {name} variables, each bound by exactly one path param', () => {
  const at = (path: string, params: unknown[] = []) =>
    specErrors(withMethod({ name: 'm', http: { method: 'GET', path }, params }));
  assert.deepEqual(at('orders'), ['spec.methods[0].http.path']);
  assert.deepEqual(at('/orders//x'), ['spec.methods[0].http.path']);
  assert.deepEqual(at('/orders/'), ['spec.methods[0].http.path']);
  assert.deepEqual(at('/orders/{id}.json', [{ from: 'path', name: 'id', type: 'long' }]), [
    'spec.methods[0].http.path',
  ]);
  assert.deepEqual(at('/orders/*'), ['spec.methods[0].http.path']);
  assert.deepEqual(at('/orders/%20'), ['spec.methods[0].http.path']);
  // A variable no param binds, a param naming no variable, a variable twice.
  assert.deepEqual(at('/orders/{id}'), ['spec.methods[0].http.path']);
  assert.deepEqual(at('/orders', [{ from: 'path', name: 'id', type: 'long' }]), ['spec.methods[0].params[0].name']);
  assert.deepEqual(at('/a/{id}/b/{id}', [{ from: 'path', name: 'id', type: 'long' }]), ['spec.methods[0].http.path']);
  assert.deepEqual(
    at('/orders/{id}', [
      { from: 'path', name: 'id', type: 'long' },
      { from: 'path', name: 'id', type: 'long' },
    ]),
    ['spec.methods[0].params[1].name'],
  );
  assert.deepEqual(at('/', []), []);
  const message = errorsOf(doc('RpcMapping', withMethod({ name: 'm', http: { method: 'GET', path: '/x/{v}' } })))[0];
  assert.match(message!.message, /\{v\} is not a path parameter/);
});

test('parameter sources: names where needed, one whole body or named fields, text sources take no Map', () => {
  const at = (params: unknown[], path = '/m') =>
    specErrors(withMethod({ name: 'm', http: { method: 'POST', path }, params }));
  assert.deepEqual(at([{ from: 'query', type: 'int' }]), ['spec.methods[0].params[0].name']);
  assert.deepEqual(at([{ from: 'header', type: 'int' }]), ['spec.methods[0].params[0].name']);
  assert.deepEqual(at([{ from: 'header', name: 'bad header', type: 'int' }]), ['spec.methods[0].params[0].name']);
  assert.deepEqual(at([{ from: 'cookie', name: 'a', type: 'int' }]), ['spec.methods[0].params[0].from']);
  assert.deepEqual(
    at([
      { from: 'body', type: 'int' },
      { from: 'body', type: 'int' },
    ]),
    ['spec.methods[0].params[1]'],
  );
  assert.deepEqual(
    at([
      { from: 'body', type: 'com.example.Order' },
      { from: 'body', name: 'note', type: 'java.lang.String' },
    ]),
    ['spec.methods[0].params[0]'],
  );
  assert.deepEqual(
    at([
      { from: 'body', name: 'a', type: 'int' },
      { from: 'body', name: 'a', type: 'int' },
    ]),
    ['spec.methods[0].params[1].name'],
  );
  assert.deepEqual(
    at([
      { from: 'header', name: 'X-A', type: 'int' },
      { from: 'header', name: 'x-a', type: 'int' },
    ]),
    ['spec.methods[0].params[1].name'],
  );
  // The same name from two sources is two parameters.
  assert.deepEqual(
    at(
      [
        { from: 'path', name: 'a', type: 'int' },
        { from: 'query', name: 'a', type: 'int' },
      ],
      '/m/{a}',
    ),
    [],
  );
  assert.deepEqual(at([{ from: 'query', name: 'm', type: 'java.util.Map<java.lang.String,java.lang.Object>' }]), [
    'spec.methods[0].params[0].type',
  ]);
  assert.deepEqual(at([{ from: 'query', name: 'm', type: 'java.util.List<java.util.HashMap>' }]), [
    'spec.methods[0].params[0].type',
  ]);
  assert.deepEqual(at([{ from: 'path', name: 'a', type: 'int', required: false }], '/m/{a}'), [
    'spec.methods[0].params[0].required',
  ]);
  assert.deepEqual(at([{ from: 'body', type: 'int', default: 1 }]), ['spec.methods[0].params[0]']);
});

test('attachments: header names, free keys only, each key once', () => {
  const at = (attachments: unknown[]) =>
    specErrors(withMethod({ name: 'm', http: { method: 'GET', path: '/m' }, attachments }));
  assert.deepEqual(at([{ header: 'x-tenant', key: 'tenant' }]), []);
  assert.deepEqual(at([{ header: 'x tenant', key: 'tenant' }]), ['spec.methods[0].attachments[0].header']);
  assert.deepEqual(at([{ header: 'x-t', key: 'generic' }]), ['spec.methods[0].attachments[0].key']);
  assert.deepEqual(at([{ header: 'x-t', key: 'Token' }]), ['spec.methods[0].attachments[0].key']);
  assert.deepEqual(at([{ header: 'x-t', key: 'a b' }]), ['spec.methods[0].attachments[0].key']);
  assert.deepEqual(
    at([
      { header: 'x-a', key: 'k' },
      { header: 'x-b', key: 'k' },
    ]),
    ['spec.methods[0].attachments[1].key'],
  );
});

test('interface, method names and verbs are checked; no (verb, path) twice, whatever the variable names', () => {
  assert.deepEqual(specErrors({ ...ORDERS, interface: 'com..Bad' }), ['spec.interface']);
  assert.deepEqual(specErrors({ ...ORDERS, version: '' }), ['spec.version']);
  assert.deepEqual(specErrors({ ...ORDERS, methods: [] }), ['spec.methods']);
  assert.deepEqual(specErrors({ ...ORDERS, extra: 1 }), ['spec']);
  assert.deepEqual(specErrors(withMethod({ name: 'get-order', http: { method: 'GET', path: '/m' } })), [
    'spec.methods[0].name',
  ]);
  assert.deepEqual(specErrors(withMethod({ name: 'm', http: { method: 'TRACE', path: '/m' } })), [
    'spec.methods[0].http.method',
  ]);
  const twice = {
    interface: 'com.example.S',
    methods: [
      { name: 'a', http: { method: 'GET', path: '/o/{id}' }, params: [{ from: 'path', name: 'id', type: 'long' }] },
      { name: 'b', http: { method: 'DELETE', path: '/o/{id}' }, params: [{ from: 'path', name: 'id', type: 'long' }] },
      { name: 'c', http: { method: 'GET', path: '/o/{key}' }, params: [{ from: 'path', name: 'key', type: 'long' }] },
    ],
  };
  const errors = errorsOf(doc('RpcMapping', twice));
  assert.deepEqual(paths(errors), ['spec.methods[2].http']);
  assert.match(errors[0]!.message, /GET \/o\/\{key\} is already methods\[0\]/);
});

test(`at most ${RPC_MAPPING_MAX_METHODS} methods`, () => {
  const methods = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: 'm', http: { method: 'GET', path: `/m${i}` } }));
  valid(doc('RpcMapping', { interface: 'com.example.S', methods: methods(RPC_MAPPING_MAX_METHODS) }));
  assert.deepEqual(specErrors({ interface: 'com.example.S', methods: methods(RPC_MAPPING_MAX_METHODS + 1) }), [
    'spec.methods',
  ]);
});
