import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileRpcMapping,
  DubboArgumentError,
  DubboOptionError,
  type RpcMappingInput,
  type RpcMatch,
  type RpcMethodMatch,
  type RpcRequest,
} from '../src/index.ts';

const SPEC: RpcMappingInput = {
  interface: 'com.example.OrderService',
  version: '1.0.0',
  group: 'shop',
  methods: [
    {
      name: 'getOrder',
      http: { method: 'GET', path: '/orders/{id}' },
      params: [
        { from: 'path', name: 'id', type: 'long' },
        { from: 'query', name: 'verbose', type: 'java.lang.Boolean' },
        { from: 'header', name: 'X-User', type: 'java.lang.String', required: true },
      ],
      attachments: [
        { header: 'X-Tenant', key: 'tenant' },
        { header: 'x-request-id', key: 'rid' },
      ],
    },
    { name: 'latest', http: { method: 'GET', path: '/orders/latest' } },
    {
      name: 'deleteOrder',
      http: { method: 'DELETE', path: '/orders/{orderId}' },
      params: [{ from: 'path', name: 'orderId', type: 'java.lang.Long' }],
    },
    {
      name: 'createOrder',
      http: { method: 'POST', path: '/orders' },
      params: [{ from: 'body', type: 'com.example.Order', required: true }],
    },
    {
      name: 'search',
      http: { method: 'GET', path: '/orders' },
      params: [
        { from: 'query', name: 'status', type: 'java.util.List<com.example.Status>' },
        { from: 'query', name: 'limit', type: 'int' },
        { from: 'query', name: 'since', type: 'java.util.Date' },
        { from: 'header', name: 'x-skus', type: 'java.lang.String[]' },
      ],
    },
    {
      name: 'addItems',
      http: { method: 'POST', path: '/orders/{id}/items' },
      params: [
        { from: 'path', name: 'id', type: 'long' },
        { from: 'body', name: 'items', type: 'java.util.List<com.example.Item>', required: true },
        { from: 'body', name: 'note', type: 'java.lang.String' },
      ],
    },
    {
      name: 'byTags',
      http: { method: 'GET', path: '/tags/{tags}/price/{price}' },
      params: [
        { from: 'path', name: 'tags', type: 'java.util.Set<java.lang.String>' },
        { from: 'path', name: 'price', type: 'java.math.BigDecimal' },
      ],
    },
    {
      name: 'put',
      http: { method: 'PUT', path: '/blobs/{key}' },
      params: [
        { from: 'path', name: 'key', type: 'java.lang.String' },
        { from: 'body', type: 'byte[]' },
      ],
    },
  ],
};

const routes = compileRpcMapping(SPEC, {
  types: {
    'com.example.Item': { properties: { sku: 'java.lang.String', quantity: 'int' } },
    'com.example.Status': { enums: ['NEW', 'PAID'] },
  },
});

function request(parts: Partial<RpcRequest> & { json?: unknown } = {}): RpcRequest {
  return {
    query: parts.query ?? new URLSearchParams(),
    headers: parts.headers ?? {},
    body: parts.body ?? (parts.json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(parts.json))),
  };
}

function found(match: RpcMatch): RpcMethodMatch {
  assert.equal(match.kind, 'method', JSON.stringify(match));
  return match as RpcMethodMatch;
}

/** The DubboArgumentError a call throws: its path and message. */
function argumentError(call: () => unknown): { path: string; message: string } {
  try {
    call();
  } catch (err) {
    assert.ok(err instanceof DubboArgumentError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'PORTICO_ERR_DUBBO_ARGUMENT');
    assert.deepEqual(err.details, [{ path: err.path, message: err.message.slice(err.path.length + 2) }]);
    return { path: err.path, message: err.message };
  }
  assert.fail('expected a DubboArgumentError');
}

test('a path variable, a query flag and a header become typed arguments; the service key comes along', () => {
  const m = found(routes.match('GET', '/orders/9007199254740993?verbose=true'));
  assert.equal(m.interface, 'com.example.OrderService');
  assert.equal(m.version, '1.0.0');
  assert.equal(m.group, 'shop');
  assert.equal(m.method, 'getOrder');
  assert.deepEqual(m.parameterTypes, ['long', 'java.lang.Boolean', 'java.lang.String']);
  assert.deepEqual(m.pathParams, { id: '9007199254740993' });
  const req = request({ query: new URLSearchParams('verbose=true'), headers: { 'x-user': 'ann' } });
  // Beyond 2^53 a long stays a decimal string (its JSON form), below it is a number.
  assert.deepEqual(m.args(req), ['9007199254740993', true, 'ann']);
  assert.deepEqual(found(routes.match('get', '/orders/42')).args(request({ headers: { 'x-user': 'bo' } })), [
    42,
    null,
    'bo',
  ]);
});

test('javaArgs are what DubboClient.invoke sends: typed for hessian', () => {
  const m = found(routes.match('GET', '/orders/42'));
  const java = m.javaArgs(request({ headers: { 'x-user': 'ann' }, query: { verbose: 'false' } }));
  assert.equal(java.length, 3);
  assert.deepEqual(java.slice(1), [false, 'ann']);
  assert.equal((java[0] as { $class: string; $: unknown }).$class, 'long');
  assert.equal((java[0] as { $class: string; $: unknown }).$, 42);
});

test('path variables are percent-decoded after splitting; a literal segment wins over a variable', () => {
  assert.equal(found(routes.match('GET', '/orders/latest')).method, 'latest');
  const m = found(routes.match('PUT', '/blobs/a%2Fb%20c'));
  assert.deepEqual(m.pathParams, { key: 'a/b c' });
  assert.deepEqual(m.args(request({ json: 'AQID' })), ['a/b c', 'AQID']);
  assert.deepEqual((m.javaArgs(request({ json: 'AQID' }))[1] as Buffer).toJSON().data, [1, 2, 3]);
  // A List from a path variable: its comma-separated items. BigDecimal stays text.
  const t = found(routes.match('GET', '/tags/a,b%2Cc/price/19.99'));
  assert.deepEqual(t.args(request()), [['a', 'b', 'c'], '19.99']);
  assert.deepEqual(routes.match('GET', '/orders/%E0%A4%A'), { kind: 'notFound' });
});

test('404 for no template, 405 with the verbs the path has', () => {
  assert.deepEqual(routes.match('GET', '/nothing'), { kind: 'notFound' });
  assert.deepEqual(routes.match('GET', '/orders/42/'), { kind: 'notFound' });
  assert.deepEqual(routes.match('GET', '/orders//items'), { kind: 'notFound' });
  assert.deepEqual(routes.match('GET', 'orders'), { kind: 'notFound' });
  assert.deepEqual(routes.match('PATCH', '/orders/42'), { kind: 'methodNotAllowed', allowed: ['DELETE', 'GET'] });
  // /orders/latest is both a literal (GET) and a variable (GET, DELETE): DELETE reaches the variable's method.
  assert.equal(found(routes.match('DELETE', '/orders/latest')).method, 'deleteOrder');
  assert.deepEqual(routes.match('PUT', '/orders/latest'), { kind: 'methodNotAllowed', allowed: ['DELETE', 'GET'] });
  assert.deepEqual(routes.match('DELETE', '/orders'), { kind: 'methodNotAllowed', allowed: ['GET', 'POST'] });
});

test('query lists take every occurrence, header lists the comma-separated items; dates as digits are epoch ms', () => {
  const m = found(routes.match('GET', '/orders'));
  const args = m.args(
    request({
      query: new URLSearchParams('status=NEW&status=PAID&limit=10&since=1700000000000'),
      headers: { 'x-skus': 'a, b,c' },
    }),
  );
  assert.deepEqual(args, [['NEW', 'PAID'], 10, 1700000000000, ['a', 'b', 'c']]);
  // A record query (as a parsed querystring) works the same; an ISO date stays a string.
  assert.deepEqual(m.args(request({ query: { status: 'NEW', limit: '1', since: '2024-01-02T03:04:05Z' } })), [
    ['NEW'],
    1,
    '2024-01-02T03:04:05Z',
    null,
  ]);
});

test('missing required parameters are a 400 naming them; primitives are always required', () => {
  const get = found(routes.match('GET', '/orders/1'));
  assert.deepEqual(
    argumentError(() => get.args(request())),
    {
      path: 'header.x-user',
      message: 'header.x-user: expected java.lang.String, got no value (it is required)',
    },
  );
  const search = found(routes.match('GET', '/orders'));
  assert.equal(argumentError(() => search.args(request())).path, 'query.limit');
  const create = found(routes.match('POST', '/orders'));
  assert.equal(argumentError(() => create.args(request())).path, 'body');
  assert.equal(argumentError(() => create.args(request({ json: null }))).path, 'body');
  const add = found(routes.match('POST', '/orders/1/items'));
  assert.equal(argumentError(() => add.args(request({ json: { note: 'x' } }))).path, 'body.items');
});

test('type mismatches are a 400 naming the parameter and the expected type', () => {
  const get = found(routes.match('GET', '/orders/abc'));
  const bad = argumentError(() => get.args(request({ headers: { 'x-user': 'a' } })));
  assert.equal(bad.path, 'path.id');
  assert.match(bad.message, /expected long \(a 64-bit integer/);
  assert.match(bad.message, /got the string "abc"/);
  const flag = argumentError(() =>
    found(routes.match('GET', '/orders/1')).args(request({ query: { verbose: 'yes' }, headers: { 'x-user': 'a' } })),
  );
  assert.equal(flag.path, 'query.verbose');
  const search = found(routes.match('GET', '/orders'));
  const limit = argumentError(() => search.args(request({ query: { limit: '3000000000' } })));
  assert.equal(limit.path, 'query.limit');
  assert.match(limit.message, /expected int \(an integer from -2147483648 to 2147483647\)/);
  assert.deepEqual(
    argumentError(() => search.args(request({ query: { limit: ['1', '2'] } }))),
    {
      path: 'query.limit',
      message: 'query.limit: expected int (one value), got 2 values',
    },
  );
  const status = argumentError(() => search.args(request({ query: { limit: '1', status: ['NEW', 'LOST'] } })));
  assert.equal(status.path, 'query.status[1]');
  assert.match(status.message, /one of NEW, PAID/);
});

test('the body: a whole value or named fields of an object; bad JSON, a non-object or an unknown field is a 400', () => {
  const add = found(routes.match('POST', '/orders/7/items'));
  const items = [{ sku: 'a', quantity: 2 }];
  assert.deepEqual(add.args(request({ json: { items } })), [7, items, null]);
  assert.deepEqual(add.args(request({ json: { items, note: 'gift' } })), [7, items, 'gift']);
  const field = argumentError(() => add.args(request({ json: { items: [{ sku: 'a', quantity: 'two' }] } })));
  assert.equal(field.path, 'body.items[0].quantity');
  assert.equal(argumentError(() => add.args(request({ json: { items, color: 'red' } }))).path, 'body.color');
  assert.equal(argumentError(() => add.args(request({ json: [items] }))).path, 'body');
  const json = argumentError(() => add.args(request({ body: Buffer.from('{"items":') })));
  assert.equal(json.path, 'body');
  assert.match(json.message, /invalid JSON/);
  const unknownField = argumentError(() => add.args(request({ json: { items: [{ sku: 'a', size: 3 }] } })));
  assert.equal(unknownField.path, 'body.items[0].size');
  const create = found(routes.match('POST', '/orders'));
  assert.deepEqual(create.args(request({ json: { id: 1, customer: 'c' } })), [{ id: 1, customer: 'c' }]);
  assert.equal(argumentError(() => create.args(request({ json: [1] }))).path, 'body');
});

test('attachments: the mapped headers that are present, under their keys', () => {
  const m = found(routes.match('GET', '/orders/1'));
  assert.deepEqual(m.attachments({ 'x-tenant': 't1', 'x-other': 'o' }), { tenant: 't1' });
  assert.deepEqual(m.attachments({ 'x-tenant': ['a', 'b'], 'x-request-id': 'r' }), { tenant: 'a, b', rid: 'r' });
  assert.deepEqual(m.attachments({}), {});
});

test('compile guards what the matcher relies on, naming the field', () => {
  const one = (method: Record<string, unknown>): RpcMappingInput =>
    ({ interface: 'com.example.S', methods: [method] }) as unknown as RpcMappingInput;
  const cases: Array<[RpcMappingInput, string]> = [
    [{ interface: 'not a name', methods: [] }, 'interface'],
    [{ interface: 'com.example.S', methods: [] }, 'methods'],
    [one({ name: 'm', http: { method: 'GET', path: 'x' } }), 'methods[0].http.path'],
    [one({ name: 'm', http: { method: 'GET', path: '/a/{id}' } }), 'methods[0].http.path'],
    [one({ name: 'm', http: { method: 'GET', path: '/a/b{id}' } }), 'methods[0].http.path'],
    [
      one({ name: 'm', http: { method: 'GET', path: '/a' }, params: [{ from: 'body', type: 'List<' }] }),
      'methods[0].params[0].type',
    ],
    [
      one({ name: 'm', http: { method: 'GET', path: '/a' }, params: [{ from: 'query', type: 'int' }] }),
      'methods[0].params[0].name',
    ],
    [
      one({ name: 'm', http: { method: 'GET', path: '/a' }, params: [{ from: 'path', name: 'x', type: 'int' }] }),
      'methods[0].params[0].name',
    ],
    [
      one({
        name: 'm',
        http: { method: 'GET', path: '/a' },
        params: [{ from: 'query', name: 'q', type: 'java.util.List<java.util.List<java.lang.String>>' }],
      }),
      'methods[0].params[0].type',
    ],
    [
      {
        interface: 'com.example.S',
        methods: [
          { name: 'a', http: { method: 'GET', path: '/x/{a}' }, params: [{ from: 'path', name: 'a', type: 'int' }] },
          { name: 'b', http: { method: 'get', path: '/x/{b}' }, params: [{ from: 'path', name: 'b', type: 'int' }] },
        ],
      },
      'methods[1].http',
    ],
  ];
  for (const [spec, path] of cases) {
    assert.throws(
      () => compileRpcMapping(spec),
      (err: unknown) => err instanceof DubboOptionError && err.details[0]?.path === path,
      path,
    );
  }
});
