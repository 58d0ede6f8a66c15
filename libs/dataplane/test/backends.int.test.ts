/**
 * Backends by kind on real sockets: DirectResponse answers from its resource with the same phases, errors and
 * access log as a Service backend; every kind and filter the config accepts has a registered module.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { BackendKind, RouteFilter, validateResource } from '@portico/config';
import { BACKEND_KINDS, FILTERS } from '../src/index.ts';
import { type Pipeline, startPipeline } from './helpers.ts';

const maintenance = (body: string) => ({
  kind: 'DirectResponse',
  metadata: { name: 'maintenance' },
  spec: {
    status: 503,
    contentType: 'application/json',
    body,
    headers: [{ name: 'Retry-After', value: '120' }],
  },
});

let pipeline: Pipeline;

before(async () => {
  pipeline = await startPipeline([
    maintenance('{"message":"down for maintenance"}'),
    { kind: 'DirectResponse', metadata: { name: 'gone' }, spec: { status: 410 } },
    {
      kind: 'Route',
      metadata: { name: 'site' },
      spec: {
        rules: [
          {
            matches: [{ path: { value: '/shop' } }],
            filters: [
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: { set: [{ name: 'x-edge', value: 'portico' }] },
              },
            ],
            backendRefs: [{ kind: 'DirectResponse', name: 'maintenance' }],
          },
          { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'DirectResponse', name: 'gone' }] },
          { matches: [{ path: { value: '/missing' } }], backendRefs: [{ kind: 'DirectResponse', name: 'nope' }] },
        ],
      },
    },
  ]);
});

after(async () => {
  await pipeline?.close();
});

const url = (path: string) => `http://127.0.0.1:${pipeline.port}${path}`;

test('a DirectResponse answers with its status, type, headers and body; the response phase applies', async () => {
  const res = await fetch(url('/shop/cart'));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('retry-after'), '120');
  assert.equal(res.headers.get('x-edge'), 'portico');
  assert.ok(res.headers.get('x-request-id'));
  assert.deepEqual(await res.json(), { message: 'down for maintenance' });
  const line = pipeline.logs.findLast((l) => l.msg === 'access');
  assert.equal(line?.status, 503);
  assert.equal(line?.backend, 'maintenance');

  const gone = await fetch(url('/v1/orders'));
  assert.equal(gone.status, 410);
  assert.equal(gone.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(gone.headers.get('content-length'), '0');
  assert.equal(await gone.text(), '');
});

test('an uploaded body is read to the end first, so the keep-alive connection carries the next request', async () => {
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(url('/shop/upload'), { method: 'POST', agent }, (res) => {
        sockets.add(req.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(Buffer.alloc(300_000, 'y'));
    });
  assert.equal(await post(), 503);
  assert.equal(await post(), 503);
  assert.equal(sockets.size, 1, 'both requests on one connection');
  agent.destroy();
});

test('a change to the resource is served by the next request; a ref to none is a 500 naming it', async () => {
  await pipeline.put(maintenance('{"message":"back at noon"}'));
  assert.deepEqual(await (await fetch(url('/shop'))).json(), { message: 'back at noon' });

  const missing = await fetch(url('/missing'));
  assert.equal(missing.status, 500);
  const body = (await missing.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'PORTICO_ERR_PROXY_BACKEND_NOT_FOUND');
  assert.match(body.error.message, /nope/);
});

test('config refuses what a DirectResponse cannot mean, naming the field', () => {
  const bad = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'DirectResponse',
    metadata: { name: 'x' },
    spec: { status: 200, headers: [{ name: 'Content-Length', value: '5' }] },
  });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.errors.map((e) => e.path), ['spec.headers[0].name']);
  const ref = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name: 'r' },
    spec: { rules: [{ backendRefs: [{ kind: 'DirectResponse', name: 'x', port: 80 }] }] },
  });
  assert.equal(ref.ok, false);
  assert.deepEqual(!ref.ok && ref.errors.map((e) => e.path), ['spec.rules[0].backendRefs[0].port']);
});

test('every backend kind and filter type the config accepts has its module registered', () => {
  assert.deepEqual(Object.keys(BACKEND_KINDS).sort(), [...BackendKind.options].sort());
  for (const [kind, module] of Object.entries(BACKEND_KINDS)) assert.equal(module.kind, kind);
  const filterTypes = RouteFilter.options.map((o) => o.shape.type.value).sort();
  assert.deepEqual(Object.keys(FILTERS).sort(), filterTypes);
  for (const [type, module] of Object.entries(FILTERS)) assert.equal(module.type, type);
});
