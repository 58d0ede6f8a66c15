/**
 * Routing behaviour modelled on the Gateway API conformance suite (matching, filters, weights, timeouts, retries,
 * errors), over real sockets against an in-process front proxy on a memory bus and real echo backends.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { parseDocuments } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type Backend, type EchoReply, startEchoBackend, waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const bus = createMemoryBus();
let infra: Backend, web: Backend, v1: Backend, v2: Backend, mirror: Backend;
let proxy: FrontProxy;

function service(name: string, b: Backend): string {
  return `apiVersion: portico.dev/v1
kind: Service
metadata: {name: ${name}}
spec:
  endpoints: [{address: 127.0.0.1, port: ${b.port}}]
---
`;
}

before(async () => {
  [infra, web, v1, v2, mirror] = await Promise.all(
    ['infra', 'web', 'v1', 'v2', 'mirror'].map((n) => startEchoBackend(n)),
  );
  const config = `${service('infra', infra)}${service('web', web)}${service('v1', v1)}${service('v2', v2)}${service('mirror', mirror)}
apiVersion: portico.dev/v1
kind: Route
metadata: {name: matching}
spec:
  hostnames: [match.example.com]
  rules:
    - matches: [{path: {type: Exact, value: /exact}}]
      backendRefs: [{name: v1}]
    - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
      backendRefs: [{name: v2}]
    - matches: [{path: {type: PathPrefix, value: /prefix}}]
      backendRefs: [{name: v1}]
    - matches: [{path: {type: PathPrefix, value: /h}, headers: [{name: Version, value: two}]}]
      backendRefs: [{name: v2}]
    - matches: [{path: {type: PathPrefix, value: /h}}]
      backendRefs: [{name: v1}]
    - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: animal, value: whale}]}]
      backendRefs: [{name: v2}]
    - matches: [{path: {type: PathPrefix, value: /q}}]
      backendRefs: [{name: v1}]
    - matches: [{path: {type: PathPrefix, value: /m}, method: POST}]
      backendRefs: [{name: v2}]
    - matches: [{path: {type: PathPrefix, value: /m}}]
      backendRefs: [{name: v1}]
    - matches: [{path: {type: RegularExpression, value: "/re/[0-9]+"}}]
      backendRefs: [{name: v2}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: wildcard}
spec:
  hostnames: ["*.wild.example.com"]
  rules: [{backendRefs: [{name: web}]}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: filters}
spec:
  hostnames: [filters.example.com]
  rules:
    - matches: [{path: {value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: set-value}]
            add: [{name: X-Add, value: added}]
            remove: [X-Remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: X-Resp, value: resp}]
            remove: [X-Backend]
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /rewrite-prefix}}]
      filters: [{type: URLRewrite, urlRewrite: {hostname: rewritten.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /rewrite-full}}]
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /full}}}]
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /redirect}}]
      filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: secure.example.com, statusCode: 301, path: {type: ReplacePrefixMatch, replacePrefixMatch: /moved}}}]
    - matches: [{path: {value: /mirror}}]
      filters: [{type: RequestMirror, requestMirror: {backendRef: {name: mirror}}}]
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /cors}}]
      filters: [{type: CORS, cors: {allowOrigins: ["https://*.app.example"], allowMethods: [GET, PUT], allowHeaders: [X-Custom], exposeHeaders: [X-Backend], maxAge: 600, allowCredentials: true}}]
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /weights}}]
      backendRefs: [{name: v1, weight: 70}, {name: v2, weight: 30}]
    - matches: [{path: {value: /missing}}]
      backendRefs: [{name: does-not-exist}]
    - matches: [{path: {value: /timeout}}]
      timeouts: {request: 300ms}
      backendRefs: [{name: infra}]
    - matches: [{path: {value: /retry}}]
      retry: {attempts: 2, codes: [503], backoff: 1ms}
      backendRefs: [{name: infra}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: catch-all}
spec:
  rules: [{matches: [{path: {value: /}}], backendRefs: [{name: web}]}]
`;
  const parsed = parseDocuments(config, 'routing');
  assert.deepEqual(parsed.errors, []);
  for (const resource of parsed.resources) await bus.put(resource);
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    // Warn lines (the missing Service, the timeout) are expected here; the assertions are on the answers.
    logger: createLogger({ level: 'warn', destination: { write: () => {} } }),
    metrics: new ProxyMetrics(createMetricsRegistry()),
    drainMs: 1_000,
  });
});

after(async () => {
  await proxy?.close();
  await Promise.all([infra, web, v1, v2, mirror].map((b) => b?.close()));
  await bus.close();
});

interface Answer {
  status: number;
  headers: Headers;
  json: EchoReply | undefined;
  text: string;
}

/** node:http, not fetch: fetch may not set Host, and these cases are all about Host. */
function get(
  host: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        path,
        method: init.method ?? 'GET',
        headers: { host, ...(init.headers ?? {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: EchoReply | undefined;
          try {
            json = JSON.parse(text) as EchoReply;
          } catch {}
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, String(v));
          resolve({ status: res.statusCode ?? 0, headers, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('matching (HTTPRouteMatching, PathMatchOrder, Header/Query/Method matching)', () => {
  const cases: [string, Record<string, string>, string, string][] = [
    ['/exact', {}, 'GET', 'v1'],
    ['/exact/sub', {}, 'GET', '404'],
    ['/prefix/one/x', {}, 'GET', 'v2'],
    ['/prefix/oneish', {}, 'GET', 'v1'],
    ['/prefix', {}, 'GET', 'v1'],
    ['/h', { version: 'two' }, 'GET', 'v2'],
    ['/h', { VERSION: 'two' }, 'GET', 'v2'],
    ['/h', { version: 'one' }, 'GET', 'v1'],
    ['/q?animal=whale', {}, 'GET', 'v2'],
    ['/q?animal=dolphin', {}, 'GET', 'v1'],
    ['/m', {}, 'POST', 'v2'],
    ['/m', {}, 'GET', 'v1'],
    ['/re/123', {}, 'GET', 'v2'],
  ];
  for (const [path, headers, method, want] of cases) {
    test(`${method} match.example.com${path} ${JSON.stringify(headers)} -> ${want}`, async () => {
      const r = await get('match.example.com', path, { method, headers });
      if (want === '404') {
        // The host group has no matching rule: no fall-through to the catch-all route (Envoy virtual hosts).
        assert.equal(r.status, 404, r.text);
        return;
      }
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json?.backend, want);
    });
  }
  test('wildcard hostnames match any subdomain depth, catch-all gets the rest', async () => {
    assert.equal((await get('a.wild.example.com', '/x')).json?.backend, 'web');
    assert.equal((await get('a.b.wild.example.com:8080', '/x')).json?.backend, 'web');
    assert.equal((await get('unknown.example.com', '/x')).json?.backend, 'web');
  });
});

describe('filters', () => {
  test('request and response header modifiers', async () => {
    const r = await get('filters.example.com', '/headers', {
      headers: { 'x-add': 'orig', 'x-remove': 'gone', 'x-set': 'old' },
    });
    assert.equal(r.json?.headers['x-set'], 'set-value');
    assert.equal(r.json?.headers['x-add'], 'orig,added');
    assert.equal(r.json?.headers['x-remove'], undefined);
    assert.equal(r.headers.get('x-resp'), 'resp');
    assert.equal(r.headers.get('x-backend'), null);
  });
  test('proxy headers: X-Forwarded-*, Forwarded, Via, request id, traceparent, Host kept', async () => {
    const r = await get('filters.example.com', '/headers', {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', connection: 'close' },
    });
    const h = r.json!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'filters.example.com');
    assert.match(String(h.forwarded), /for=127\.0\.0\.1;host=filters\.example\.com;proto=http/);
    assert.match(String(h.via), /1\.1 portico/);
    assert.equal(h.host, 'filters.example.com');
    assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('x-request-id'), h['x-request-id']);
    assert.match(String(h.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.notEqual(h.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });
  test('URLRewrite ReplacePrefixMatch with hostname, and ReplaceFullPath', async () => {
    const a = await get('filters.example.com', '/rewrite-prefix/rest?x=1');
    assert.equal(a.json?.path, '/new/rest?x=1');
    assert.equal(a.json?.headers.host, 'rewritten.example.com');
    const b = await get('filters.example.com', '/rewrite-full/anything');
    assert.equal(b.json?.path, '/full');
  });
  test('RequestRedirect', async () => {
    const r = await get('filters.example.com', '/redirect/a?b=c');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), 'https://secure.example.com/moved/a?b=c');
  });
  test('RequestMirror sends a copy; the client sees the primary', async () => {
    const before = mirror.requests.length;
    const r = await get('filters.example.com', '/mirror/m1');
    assert.equal(r.json?.backend, 'infra');
    const copy = await waitUntil('the mirrored copy', () => mirror.requests.length > before && mirror.requests.at(-1));
    assert.equal(copy.url, '/mirror/m1');
  });
  test('RequestMirror copies the request body; the primary gets it whole too', async () => {
    const before = mirror.requests.length;
    const payload = JSON.stringify({ order: 42, items: 'x'.repeat(200_000) });
    const r = await get('filters.example.com', '/mirror/m2', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    assert.equal(r.status, 200);
    assert.equal(r.json?.backend, 'infra');
    assert.equal(r.json?.body, payload);
    // The echo backend fills in `body` once it has read the copy whole.
    const copy = await waitUntil(
      'the mirrored copy with its body',
      () => mirror.requests.length > before && mirror.requests.at(-1)?.body !== undefined && mirror.requests.at(-1),
    );
    assert.equal(mirror.requests.length, before + 1);
    assert.equal(copy.method, 'POST');
    assert.equal(copy.body, payload);
  });
  test('CORS preflight and actual request', async () => {
    const pre = await get('filters.example.com', '/cors', {
      method: 'OPTIONS',
      headers: { origin: 'https://x.app.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://x.app.example');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, PUT');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'X-Custom');
    assert.equal(pre.headers.get('access-control-max-age'), '600');
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    const denied = await get('filters.example.com', '/cors', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    const actual = await get('filters.example.com', '/cors', { headers: { origin: 'https://x.app.example' } });
    assert.equal(actual.json?.backend, 'infra');
    assert.equal(actual.headers.get('access-control-allow-origin'), 'https://x.app.example');
    assert.equal(actual.headers.get('access-control-expose-headers'), 'X-Backend');
  });
  test('weights split traffic 70/30 within tolerance', async () => {
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < 400; i++) counts[(await get('filters.example.com', '/weights')).json!.backend]!++;
    assert.ok(counts.v1! > 240 && counts.v1! < 320, JSON.stringify(counts));
  });
  test('a backendRef to a missing Service is a 500 with a JSON body', async () => {
    const r = await get('filters.example.com', '/missing');
    assert.equal(r.status, 500);
    assert.match(r.text, /does-not-exist/);
  });
  test('request timeout: 504 JSON, no hang', async () => {
    const started = Date.now();
    const r = await get('filters.example.com', '/timeout?delay=2000');
    assert.equal(r.status, 504);
    assert.match(r.text, /PORTICO_ERR_PROXY_TIMEOUT/);
    assert.ok(Date.now() - started < 1500);
  });
  test('retry on 503 for an idempotent request: attempts reach the backend again', async () => {
    const before = infra.requests.length;
    const r = await get('filters.example.com', '/retry?status=503');
    assert.equal(r.status, 503);
    assert.equal(infra.requests.length - before, 3);
    const post = infra.requests.length;
    await get('filters.example.com', '/retry?status=503', { method: 'POST', body: 'x' });
    assert.equal(infra.requests.length - post, 1, 'POST is not retried by default');
  });
});

describe('errors', () => {
  test('no route: 404 JSON naming host and path', async () => {
    const r = await get('match.example.com', '/nowhere');
    assert.equal(r.status, 404);
    const body = JSON.parse(r.text);
    assert.equal(body.error.code, 'PORTICO_ERR_PROXY_NO_ROUTE');
    assert.match(body.error.message, /match\.example\.com/);
    assert.match(body.error.message, /\/nowhere/);
  });
});
