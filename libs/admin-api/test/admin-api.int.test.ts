import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type AdminApi, startAdminApi } from '../src/index.ts';

const bus = createMemoryBus();
const registry = createMetricsRegistry();
new ProxyMetrics(registry);
let ready = false;
let api: AdminApi;

before(async () => {
  api = await startAdminApi({
    bus,
    port: 0,
    registry,
    isReady: () => ready,
    logger: createLogger({ level: 'silent' }),
  });
});
after(async () => {
  await api.close();
  await bus.close();
});

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON
  json: any;
}

function call(
  method: string,
  path: string,
  body?: string | Buffer | Buffer[],
  headers: Record<string, string> = {},
): Promise<Res> {
  // Writes must say JSON or YAML; the tests that are about something else send JSON's type.
  if (body !== undefined && headers['content-type'] === undefined)
    headers = { ...headers, 'content-type': 'application/json' };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: api.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk); // no content-length: sent chunked
      req.end();
    } else req.end(body);
  });
}

const route = (name: string, prefix = '/demo') => ({
  apiVersion: 'portico.dev/v1',
  kind: 'Route',
  metadata: { name },
  spec: { rules: [{ matches: [{ path: { type: 'PathPrefix', value: prefix } }], backendRefs: [{ name: 'echo' }] }] },
});

test('healthz, readyz and metrics', async () => {
  assert.deepEqual((await call('GET', '/healthz')).json, { status: 'ok' });
  const notReady = await call('GET', '/readyz');
  assert.equal(notReady.status, 503);
  assert.deepEqual(notReady.json, { status: 'not ready' });
  ready = true;
  assert.equal((await call('GET', '/readyz')).status, 200);
  const metrics = await call('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.text, /# TYPE portico_http_requests_total counter/);
  assert.match(metrics.text, /portico_process_cpu_user_seconds_total/);
});

test('there is no debug echo: the demo echo is a proxy backend now', async () => {
  const res = await call('GET', '/debug/echo/a/b?x=1');
  assert.equal(res.status, 404);
  assert.equal(res.json.error.code, 'PORTICO_ERR_ADMIN_NOT_FOUND');
});

test('PUT creates, then configures or leaves unchanged; GET reads back with defaults', async () => {
  const body = JSON.stringify(route('demo'));
  const created = await call('PUT', '/api/v1/routes/demo', body, { 'content-type': 'application/json' });
  assert.equal(created.status, 201);
  assert.equal(created.json.result, 'created');
  assert.equal(created.json.resource.spec.rules[0].backendRefs[0].weight, 1, 'defaults filled');
  assert.ok(created.json.resource.metadata.creationTimestamp);

  assert.equal((await call('PUT', '/api/v1/routes/demo', body)).json.result, 'unchanged');
  const yaml = `apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules:
    - matches: [{path: {type: PathPrefix, value: /changed}}]
      backendRefs: [{name: echo}]
`;
  const configured = await call('PUT', '/api/v1/routes/demo', yaml, { 'content-type': 'application/yaml' });
  assert.equal(configured.status, 200);
  assert.equal(configured.json.result, 'configured');

  const got = await call('GET', '/api/v1/routes/demo');
  assert.equal(got.json.spec.rules[0].matches[0].path.value, '/changed');
  const list = await call('GET', '/api/v1/routes');
  assert.equal(list.json.kind, 'RouteList');
  assert.deepEqual(
    list.json.items.map((r: { metadata: { name: string } }) => r.metadata.name),
    ['demo'],
  );
  assert.equal((await call('GET', '/api/v1/route/demo')).status, 200, 'singular kind works too');
});

test('PUT with a name or kind that disagrees with the URL is a 400 naming the field', async () => {
  const wrongName = await call('PUT', '/api/v1/routes/other', JSON.stringify(route('demo')));
  assert.equal(wrongName.status, 400);
  assert.equal(wrongName.json.error.code, 'PORTICO_ERR_ADMIN_BAD_REQUEST');
  assert.equal(wrongName.json.error.details[0].path, 'metadata.name');

  const wrongKind = await call('PUT', '/api/v1/services/demo', JSON.stringify(route('demo')));
  assert.equal(wrongKind.status, 400);
  assert.equal(wrongKind.json.error.details[0].path, 'kind');
});

test('PUT of an invalid resource is a 400 with field paths', async () => {
  const bad = route('bad');
  (bad.spec.rules[0]!.backendRefs[0] as Record<string, unknown>).weight = -1;
  (bad.spec as Record<string, unknown>).extra = true;
  const res = await call('PUT', '/api/v1/routes/bad', JSON.stringify(bad));
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'PORTICO_ERR_CONFIG_INVALID');
  const paths = res.json.error.details.map((d: { path: string }) => d.path);
  assert.ok(paths.includes('spec.rules[0].backendRefs[0].weight'), paths.join());
  assert.ok(
    res.json.error.details.some((d: { message: string }) => /extra/.test(d.message)),
    'unknown key named',
  );
  assert.equal((await call('GET', '/api/v1/routes/bad')).status, 404);
});

test('POST creates and refuses an existing name', async () => {
  const res = await call('POST', '/api/v1/routes', JSON.stringify(route('posted')));
  assert.equal(res.status, 201);
  assert.equal(res.json.result, 'created');
  const again = await call('POST', '/api/v1/routes', JSON.stringify(route('posted')));
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'PORTICO_ERR_ADMIN_ALREADY_EXISTS');
});

test('DELETE removes, then 404 naming the resource', async () => {
  await call('PUT', '/api/v1/routes/gone', JSON.stringify(route('gone')));
  const del = await call('DELETE', '/api/v1/routes/gone');
  assert.equal(del.status, 200);
  const again = await call('DELETE', '/api/v1/routes/gone');
  assert.equal(again.status, 404);
  assert.equal(again.json.error.code, 'PORTICO_ERR_ADMIN_NOT_FOUND');
  assert.match(again.json.error.message, /Route "gone" not found/);
  assert.match((await call('GET', '/api/v1/routes/gone')).json.error.message, /"gone"/);
});

test('unknown kind and path are 404; wrong method is 405 with Allow', async () => {
  const kind = await call('GET', '/api/v1/widgets');
  assert.equal(kind.status, 404);
  assert.match(kind.json.error.message, /unknown kind "widgets"; known: routes, services, certificates/);
  assert.equal((await call('GET', '/nope')).status, 404);
  const method = await call('PATCH', '/api/v1/routes/demo');
  assert.equal(method.status, 405);
  assert.equal(method.headers.allow, 'GET, HEAD, PUT, DELETE');
  assert.equal((await call('GET', '/api/v1/apply')).headers.allow, 'POST');
  assert.equal((await call('POST', '/healthz')).status, 405);
});

test('bodies over 1 MiB are 413', async () => {
  const big = Buffer.alloc(1024 * 1024 + 10, 'a');
  const declared = await call('POST', '/api/v1/apply', big);
  assert.equal(declared.status, 413);
  assert.equal(declared.json.error.code, 'PORTICO_ERR_ADMIN_BODY_TOO_LARGE');
  // Chunked, so the size is only known while reading.
  const chunked = await call('POST', '/api/v1/apply', [big.subarray(0, 600_000), big.subarray(600_000)]);
  assert.equal(chunked.status, 413, chunked.text);
});

test('apply validates every document first: any error writes nothing and lists them all', async () => {
  const body = `apiVersion: portico.dev/v1
kind: Route
metadata: {name: a-one}
spec: {rules: [{backendRefs: [{name: echo}]}]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: a-two}
spec: {rules: [{backendRefs: [{name: echo, weight: -5}]}]}
---
apiVersion: portico.dev/v1
kind: Service
metadata: {name: Bad_Name}
spec: {}
`;
  const res = await call('POST', '/api/v1/apply', body);
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'PORTICO_ERR_CONFIG_INVALID');
  const details = res.json.error.details as { path: string; document: string }[];
  assert.ok(details.some((d) => d.path === 'spec.rules[0].backendRefs[0].weight' && /#1/.test(d.document)));
  assert.ok(details.some((d) => d.path === 'metadata.name' && /#2/.test(d.document)));
  assert.equal((await call('GET', '/api/v1/routes/a-one')).status, 404, 'nothing written');
});

test('apply answers created, configured, unchanged per resource', async () => {
  const docs = [
    route('multi-a'),
    route('multi-b'),
    { apiVersion: 'portico.dev/v1', kind: 'Service', metadata: { name: 'echo' }, spec: {} },
  ];
  const body = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  const first = await call('POST', '/api/v1/apply', body);
  assert.equal(first.status, 200);
  assert.deepEqual(first.json.results, [
    { kind: 'Route', name: 'multi-a', result: 'created' },
    { kind: 'Route', name: 'multi-b', result: 'created' },
    { kind: 'Service', name: 'echo', result: 'created' },
  ]);
  const second = await call('POST', '/api/v1/apply', body);
  assert.deepEqual(
    second.json.results.map((r: { result: string }) => r.result),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  docs[1] = route('multi-b', '/other');
  const third = await call('POST', '/api/v1/apply', JSON.stringify(docs)); // a JSON array works too
  assert.deepEqual(
    third.json.results.map((r: { result: string }) => r.result),
    ['unchanged', 'configured', 'unchanged'],
  );
});

test('apply refuses the same resource twice in one batch', async () => {
  const res = await call('POST', '/api/v1/apply', JSON.stringify([route('dup'), route('dup', '/x')]));
  assert.equal(res.status, 400);
  assert.match(res.json.error.details[0].message, /Route\/dup appears more than once/);
});

test('a YAML syntax error is a 400 naming the document', async () => {
  const res = await call('POST', '/api/v1/apply', 'kind: Route\nmetadata: {name: [\n', {
    'content-type': 'application/yaml',
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'PORTICO_ERR_CONFIG_PARSE');
  assert.match(res.json.error.details[0].document, /^body#0/);
});

test('bus errors keep their status and code', async () => {
  const closedBus = createMemoryBus();
  await closedBus.close();
  const other = await startAdminApi({
    bus: closedBus,
    port: 0,
    registry,
    isReady: () => true,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const res = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: other.port, path: '/api/v1/routes' }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(res, 503);
  } finally {
    await other.close();
  }
});

test('options are guarded, naming the option', async () => {
  await assert.rejects(
    startAdminApi({
      bus,
      port: -1,
      registry,
      isReady: () => true,
      logger: createLogger({ level: 'silent' }),
    }),
    /admin API option "port"/,
  );
});

test('new listener options are guarded, naming the option', async () => {
  const base = { bus, port: 0, registry, isReady: () => true, logger: createLogger({ level: 'silent' }) };
  await assert.rejects(startAdminApi({ ...base, allowedHosts: ['http://x/'] }), /option "allowedHosts"/);
  await assert.rejects(startAdminApi({ ...base, headersTimeoutMs: 0 }), /option "headersTimeoutMs"/);
  await assert.rejects(startAdminApi({ ...base, maxHeaderSize: 1.5 }), /option "maxHeaderSize"/);
  await assert.rejects(
    startAdminApi({ ...base, headersTimeoutMs: 5000, requestTimeoutMs: 1000 }),
    /option "headersTimeoutMs" must not be more than requestTimeoutMs/,
  );
});

test('allowedHosts adds names; acceptForwarded admits forwarding headers but never a Portico Via', async () => {
  const other = await startAdminApi({
    bus,
    port: 0,
    registry,
    isReady: () => true,
    logger: createLogger({ level: 'silent' }),
    allowedHosts: ['admin.example.com', 'ops.example.com:8443'],
    acceptForwarded: true,
  });
  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; code?: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port: other.port, path: '/api/v1/routes', headers }, (r) => {
        let text = '';
        r.on('data', (c: Buffer) => {
          text += c;
        });
        r.on('end', () => resolve({ status: r.statusCode!, code: JSON.parse(text).error?.code }));
      })
        .on('error', reject)
        .end();
    });
  try {
    assert.equal((await get({ host: 'admin.example.com' })).status, 200);
    assert.equal((await get({ host: 'Admin.Example.com:9999' })).status, 200, 'a name without a port: any port');
    assert.equal((await get({ host: 'ops.example.com:8443' })).status, 200);
    assert.equal((await get({ host: 'ops.example.com' })).status, 421, 'a name with a port: that port only');
    assert.equal((await get({ host: 'evil.example' })).status, 421);
    const origin = await get({ host: 'admin.example.com', origin: 'https://admin.example.com' });
    assert.equal(origin.status, 200, 'an allowed name is one of our origins');
    assert.equal((await get({ host: 'admin.example.com', 'x-forwarded-for': '192.0.2.1' })).status, 200);
    const via = await get({ host: 'admin.example.com', 'x-forwarded-for': '192.0.2.1', via: '1.1 portico' });
    assert.equal(via.status, 403);
    assert.equal(via.code, 'PORTICO_ERR_ADMIN_PROXIED');
  } finally {
    await other.close();
  }
});
