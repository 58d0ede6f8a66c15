/**
 * The `portico` binary routes: `portico standalone` with a config file sends matched traffic through a rule's
 * filters to a real backend, and answers an unrouted request with the 404 JSON. Routing behaviour case by case
 * is tested in-process (services/front-proxy/test/behaviour-routing.int.test.ts).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { type Backend, type EchoReply, type PorticoProcess, startEchoBackend, startPortico } from '@portico/testkit';

let api: Backend, web: Backend;
let portico: PorticoProcess;

before(async () => {
  [api, web] = await Promise.all([startEchoBackend('api'), startEchoBackend('web')]);
  portico = await startPortico({
    args: ['--log-level', 'warn'],
    config: `apiVersion: portico.dev/v1
kind: Service
metadata: {name: api}
spec: {endpoints: [{address: 127.0.0.1, port: ${api.port}}]}
---
apiVersion: portico.dev/v1
kind: Service
metadata: {name: web}
spec: {endpoints: [{address: 127.0.0.1, port: ${web.port}}]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: api}
spec:
  hostnames: [api.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /v1}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {set: [{name: X-Route, value: api}]}
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: X-Resp, value: api}]}
      backendRefs: [{name: api}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: web}
spec:
  hostnames: [web.example.com]
  rules: [{backendRefs: [{name: web}]}]
`,
  });
});

after(async () => {
  await portico?.stop();
  await Promise.all([api?.close(), web?.close()]);
});

/** node:http, not fetch: fetch may not set Host, and routing here is by Host. */
function get(host: string, path: string): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: portico.proxyPort, path, headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, String(v));
        resolve({ status: res.statusCode ?? 0, headers, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('the binary routes by host and path through the rule filters, and answers no route with a 404 JSON', async () => {
  const a = await get('api.example.com', '/v1/orders?id=7');
  assert.equal(a.status, 200, a.text);
  const seen = JSON.parse(a.text) as EchoReply;
  assert.equal(seen.backend, 'api');
  assert.equal(seen.path, '/v1/orders?id=7');
  assert.equal(seen.headers['x-route'], 'api');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.match(String(seen.headers.via), /1\.1 portico/);
  assert.equal(a.headers.get('x-resp'), 'api');

  const w = await get('web.example.com', '/anything');
  assert.equal(w.status, 200, w.text);
  assert.equal((JSON.parse(w.text) as EchoReply).backend, 'web');

  const none = await get('api.example.com', '/v2/orders');
  assert.equal(none.status, 404);
  const body = JSON.parse(none.text) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'PORTICO_ERR_PROXY_NO_ROUTE');
  assert.match(body.error.message, /api\.example\.com/);
  assert.match(body.error.message, /\/v2\/orders/);
});
