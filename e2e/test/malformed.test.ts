/** Malformed requests are answered by the proxy itself and never reach a backend. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { type Backend, type PorticoProcess, startEchoBackend, startPortico, waitUntil } from '@portico/testkit';

let echo: Backend, portico: PorticoProcess;

before(async () => {
  echo = await startEchoBackend('echo');
  portico = await startPortico({
    args: ['--log-level', 'warn'],
    config: `apiVersion: portico.dev/v1
kind: Service
metadata: {name: echo}
spec: {endpoints: [{address: 127.0.0.1, port: ${echo.port}}]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: r}
spec: {rules: [{backendRefs: [{name: echo}]}]}
`,
  });
});

after(async () => {
  await portico?.stop();
  await echo?.close();
});

function raw(request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(portico.proxyPort, '127.0.0.1');
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(request);
    setTimeout(() => socket.end(), 1000).unref();
  });
}

const cases: [string, string | Buffer, number][] = [
  [
    'Content-Length with Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'duplicate Content-Length',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    400,
  ],
  ['invalid header name byte', 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n', 400],
  ['control byte in a header value', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u0001b\r\n\r\n', 'latin1'), 400],
  ['oversized headers', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ['body over the limit', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`, 413],
  ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['bad percent-encoding', 'GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  // Request smuggling: every ambiguity in framing is refused before a backend sees a byte.
  ['obs-fold header line', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n', 400],
  ['space before the colon', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello', 400],
  ['signed Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello', 400],
  ['unknown transfer coding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 400],
  ['chunked not last', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 400],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
  [
    'chunk size overflow',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n',
    400,
  ],
  ['bare LF in the head', 'GET / HTTP/1.1\nHost: a\n\n', 400],
  ['NUL in a header value', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u0000b\r\n\r\n', 'latin1'), 400],
  ['NUL in the request target', Buffer.from('GET /a\u0000b HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'), 400],
  ['unknown HTTP version', 'GET / HTTP/1.7\r\nHost: a\r\n\r\n', 400],
];

for (const [name, request, status] of cases) {
  test(`${name} -> ${status} JSON, backend untouched`, async () => {
    const before = echo.requests.length;
    const response = await raw(request);
    assert.match(response, new RegExp(`^HTTP/1\\.1 ${status} `), response.slice(0, 200));
    assert.match(response, /content-type: application\/json/i);
    assert.match(response, /"code":"PORTICO_ERR_PROXY_/);
    assert.equal(echo.requests.length, before);
  });
}

test('upstream down: 503/502 JSON, fast, no hang', async () => {
  const dead = await startEchoBackend('dead');
  const port = dead.port;
  await dead.close();
  const res = await fetch(`${portico.adminUrl}/api/v1/services/echo`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'portico.dev/v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { endpoints: [{ address: '127.0.0.1', port }] },
    }),
  });
  assert.ok(res.ok, await res.text());
  // The change reaches the proxy a little later: until then the live echo answers 200.
  await waitUntil('the proxy to route to the dead endpoint', async () => {
    const r = await fetch(`${portico.proxyUrl}/x`);
    await r.arrayBuffer();
    return r.status !== 200;
  });
  const started = Date.now();
  const r = await fetch(`${portico.proxyUrl}/x`);
  assert.ok(r.status === 502 || r.status === 503, String(r.status));
  assert.match(await r.text(), /PORTICO_ERR_UPSTREAM_/);
  assert.ok(Date.now() - started < 2000);
});
