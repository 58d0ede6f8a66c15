/**
 * The pipeline's phases and policy order, on real sockets: policies attached at gateway, route and backend level
 * run in the documented order around the rule's filters, may answer or be async, and apply to Upgrade handshakes
 * as to plain requests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Backend, rawHttpExchange, startEchoBackend, startWebSocketBackend } from '@portico/testkit';
import WebSocket from 'ws';
import type { AttachedPolicy, PolicyAttachments, PolicyCategory, PolicySource } from '../src/index.ts';
import { type Pipeline, startPipeline } from './helpers.ts';

const trail: string[] = [];

/** A policy that records its request hook, tags the upstream request and the answer with its name. */
function marker(name: string, category: PolicyCategory): AttachedPolicy {
  return {
    category,
    phases: {
      request() {
        trail.push(name);
        return false;
      },
      forward(fwd) {
        fwd.headers.push('x-trail', name, `x-path-at-${name}`, fwd.path);
      },
      response(headers) {
        const seen = headers['x-trail'];
        headers['x-trail'] = seen === undefined ? name : `${seen},${name}`;
      },
    },
  };
}

/** Refuses requests without a credential: the authn shape the next policies take. */
const requireToken: AttachedPolicy = {
  category: 'authn',
  phases: {
    request(ex) {
      if (ex.req.headers.authorization === 'Bearer good') return false;
      ex.respond(401, { 'content-type': 'application/json' }, '{"error":"no credential"}');
      return true;
    },
  },
};

/** Decides after a real wait, like a check against a key server would. */
function asyncPolicy(decide: (auth: string | undefined) => 'pass' | 'deny' | 'throw'): AttachedPolicy {
  return {
    category: 'authz',
    phases: {
      request(ex) {
        return new Promise((resolve, reject) =>
          setTimeout(() => {
            const d = decide(ex.req.headers.authorization);
            if (d === 'throw') return reject(new Error('key server broke'));
            if (d === 'pass') return resolve(false);
            ex.respond(403, { 'content-type': 'application/json' }, '{"error":"forbidden"}');
            resolve(true);
          }, 15),
        );
      },
    },
  };
}

const policies: PolicySource = (): PolicyAttachments => ({
  // Given authn first on purpose: the ip category runs before it whatever the order given.
  gateway: () => [marker('gateway-authn', 'authn'), marker('gateway-ip', 'ip')],
  route(name) {
    if (name === 'ordered' || name === 'redirected') return [marker(`route-${name}`, 'rate-limit')];
    if (name === 'guarded' || name === 'ws') return [requireToken];
    if (name === 'async')
      return [asyncPolicy((a) => (a === 'Bearer good' ? 'pass' : a === 'Bearer boom' ? 'throw' : 'deny'))];
    return [];
  },
  backend(kind, name) {
    return kind === 'Service' && name === 'primary' ? [marker('backend-primary', 'authn')] : [];
  },
});

let backend: Backend;
let ws: Backend;
let pipeline: Pipeline;

const route = (name: string, path: string, rule: Record<string, unknown>) => ({
  kind: 'Route',
  metadata: { name },
  spec: { rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], ...rule }] },
});

before(async () => {
  backend = await startEchoBackend('primary');
  ws = await startWebSocketBackend('ws');
  pipeline = await startPipeline(
    [
      {
        kind: 'Service',
        metadata: { name: 'primary' },
        spec: { endpoints: [{ address: '127.0.0.1', port: backend.port }] },
      },
      { kind: 'Service', metadata: { name: 'ws' }, spec: { endpoints: [{ address: '127.0.0.1', port: ws.port }] } },
      route('ordered', '/ordered', {
        filters: [
          {
            type: 'URLRewrite',
            urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/rewritten' } },
          },
        ],
        backendRefs: [{ name: 'primary' }],
      }),
      route('redirected', '/redirected', {
        filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'elsewhere.example', statusCode: 302 } }],
      }),
      route('guarded', '/guarded', { backendRefs: [{ name: 'primary' }] }),
      route('async', '/async', { backendRefs: [{ name: 'primary' }] }),
      route('ws', '/ws', { backendRefs: [{ name: 'ws' }] }),
    ],
    policies,
  );
});

after(async () => {
  await pipeline?.close();
  await backend?.close();
  await ws?.close();
});

const url = (path: string) => `http://127.0.0.1:${pipeline.port}${path}`;

test('gateway policies (by category), route policies, the rule filters, then the backend policies, in every phase', async () => {
  trail.length = 0;
  const res = await fetch(url('/ordered/x'));
  assert.equal(res.status, 200);
  const seen = (await res.json()) as { path: string; headers: Record<string, string> };
  assert.deepEqual(trail, ['gateway-ip', 'gateway-authn', 'route-ordered', 'backend-primary']);
  assert.equal(seen.headers['x-trail'], 'gateway-ip, gateway-authn, route-ordered, backend-primary');
  // The rewrite sits between the route policies and the backend's: the backend policy sees its result.
  assert.equal(seen.headers['x-path-at-route-ordered'], '/ordered/x');
  assert.equal(seen.headers['x-path-at-backend-primary'], '/rewritten/x');
  assert.equal(seen.path, '/rewritten/x');
  assert.equal(res.headers.get('x-trail'), 'gateway-ip,gateway-authn,route-ordered,backend-primary');
});

test('a filter that answers (a redirect) stops the pipeline: nothing after it runs', async () => {
  trail.length = 0;
  const before = backend.requests.length;
  const res = await fetch(url('/redirected/a?b=1'), { redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), `http://elsewhere.example:${pipeline.port}/redirected/a?b=1`);
  assert.deepEqual(trail, ['gateway-ip', 'gateway-authn', 'route-redirected']);
  assert.equal(backend.requests.length, before);
});

test('a policy that answers stops the pipeline; the access log records its status', async () => {
  const before = backend.requests.length;
  const refused = await fetch(url('/guarded/x'));
  assert.equal(refused.status, 401);
  assert.deepEqual(await refused.json(), { error: 'no credential' });
  assert.ok(refused.headers.get('x-request-id'));
  assert.equal(backend.requests.length, before);
  const line = pipeline.logs.findLast((l) => l.msg === 'access');
  assert.equal(line?.status, 401);
  assert.equal(line?.route, 'guarded');
  const allowed = await fetch(url('/guarded/x'), { headers: { authorization: 'Bearer good' } });
  assert.equal(allowed.status, 200);
  await allowed.arrayBuffer();
  assert.equal(backend.requests.length, before + 1);
});

test('an async policy holds the request, body and all, until it decides', async () => {
  const body = 'x'.repeat(200_000);
  const passed = await fetch(url('/async/upload'), {
    method: 'POST',
    body,
    headers: { authorization: 'Bearer good', 'content-type': 'text/plain' },
  });
  assert.equal(passed.status, 200);
  assert.equal(((await passed.json()) as { body: string }).body, body, 'the body reached the backend whole');

  const denied = await fetch(url('/async/upload'), { method: 'POST', body, headers: { authorization: 'Bearer bad' } });
  assert.equal(denied.status, 403);
  assert.deepEqual(await denied.json(), { error: 'forbidden' });

  const broken = await fetch(url('/async/x'), { headers: { authorization: 'Bearer boom' } });
  assert.equal(broken.status, 500);
  assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'PORTICO_ERR_PROXY_INTERNAL');
});

test('Upgrade handshakes run the same policies: refused without a credential, tunnelled with one', async () => {
  const refused = await rawHttpExchange(
    pipeline.port,
    'GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.equal(refused.status, 401);
  assert.match(refused.head, /connection: close/i);
  assert.deepEqual(JSON.parse(refused.body), { error: 'no credential' });

  const client = new WebSocket(`ws://127.0.0.1:${pipeline.port}/ws/chat`, {
    headers: { authorization: 'Bearer good' },
  });
  const reply = await new Promise<string>((resolve, reject) => {
    client.once('open', () => client.send('hello'));
    client.once('message', (data) => resolve(data.toString()));
    client.once('error', reject);
  });
  assert.equal(reply, 'ws:hello');
  client.close();
});
