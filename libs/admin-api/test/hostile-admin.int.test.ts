/**
 * Hostile clients against the admin API, over raw sockets so that no client library cleans up the bytes first:
 * targets that some reader would re-interpret, cross-site writes, foreign Origins and Hosts (CSRF, DNS
 * rebinding), requests through Portico's proxy, slow heads and a YAML alias bomb. Each refused write leaves
 * the bus empty.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { createLogger, createMetricsRegistry } from '@portico/observability';
import { type AdminApi, startAdminApi } from '../src/index.ts';

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;

const bus = createMemoryBus();
let api: AdminApi;
let host: string;

before(async () => {
  api = await startAdminApi({
    bus,
    port: 0,
    registry: createMetricsRegistry(),
    isReady: () => true,
    logger: createLogger({ level: 'silent' }),
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: 500,
  });
  host = `127.0.0.1:${api.port}`;
});
after(async () => {
  await api.close();
  await bus.close();
});

const ROUTE_YAML = `apiVersion: portico.dev/v1
kind: Route
metadata: {name: planted}
spec:
  rules:
    - backendRefs: [{name: echo}]
`;

interface RawResponse {
  status: number;
  head: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON
  json: any;
}

/** Writes the exact bytes, reads until the server closes (every request here says `connection: close`). */
function raw(bytes: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(api.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      let json: unknown;
      try {
        json = JSON.parse(text.slice(split + 4));
      } catch {}
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, json });
    });
    socket.write(bytes);
  });
}

/** A request with exactly these head lines and body (content-length added when there is a body). */
function request(method: string, target: string, lines: string[], body = ''): Promise<RawResponse> {
  const all = [`${method} ${target} HTTP/1.1`, ...lines, 'connection: close'];
  if (body !== '') all.push(`content-length: ${Buffer.byteLength(body)}`);
  return raw(`${all.join('\r\n')}\r\n\r\n${body}`);
}

const applyYaml = (lines: string[], target = '/api/v1/apply') => request('POST', target, lines, ROUTE_YAML);

async function assertNothingWritten(): Promise<void> {
  assert.deepEqual(await bus.list('Route'), [], 'nothing was written to the bus');
}

test('control: a direct, well-formed apply works (so the refusals below are about what they change)', async () => {
  const res = await applyYaml([`host: ${host}`, 'content-type: application/yaml']);
  assert.equal(res.status, 200, res.head);
  assert.equal(res.json.results[0].name, 'planted');
  const del = await request('DELETE', '/api/v1/routes/planted', [`host: ${host}`]);
  assert.equal(del.status, 200);
  await assertNothingWritten();
});

test('targets with backslashes, dot segments, empty segments or encoded separators are refused, not normalised', async () => {
  const targets = [
    '/echo/..\\..\\api\\v1\\apply',
    '/api\\v1\\apply',
    '/api/v1/../v1/apply',
    '/api/v1/./apply',
    '/x/../api/v1/apply',
    '/api/v1/%2e%2e/v1/apply',
    '/api/v1/%2E./v1/apply',
    '/api/v1/.%2e/v1/apply',
    '/x/..;/api/v1/apply',
    '/x/..;jsessionid=1/api/v1/apply',
    '/api//v1/apply',
    '/api/v1/apply/',
    '/api%2Fv1%2Fapply',
    '/api/v1%2fapply',
    '/api/v1%5Capply',
    '/api/v1/apply%00',
    '/api/v1/apply%zz',
    '/api/v1/apply#frag',
    '/api/v1/apply?x=#',
    '/api/v1/apply?x=\\',
    'http://127.0.0.1/api/v1/apply',
    '*',
    ...['"', '<', '>', '{', '}', '|', '^', '`', '[', ']'].map((c) => `/api/v1/${c}apply`),
  ];
  for (const target of targets) {
    const res = await applyYaml([`host: ${host}`, 'content-type: application/yaml'], target);
    assert.equal(res.status, 400, `${target}: ${res.head}`);
    assert.equal(res.json?.error.code, 'PORTICO_ERR_ADMIN_BAD_TARGET', target);
    assert.equal(res.json.error.details[0].path, 'request-target', target);
  }
  // What Node's own parser refuses never reaches the API; the answer is still a JSON 400.
  for (const target of ['api/v1/apply', '/api/v1/\x01apply', '/api/v1/\x7fapply', '/api/v1/\u00e9']) {
    const res = await applyYaml([`host: ${host}`, 'content-type: application/yaml'], target);
    assert.equal(res.status, 400, `${JSON.stringify(target)}: ${res.head}`);
    assert.equal(res.json?.error.code, 'PORTICO_ERR_ADMIN_MALFORMED_REQUEST', JSON.stringify(target));
  }
  // Reads too: the same shape once read routes and metrics through the proxy.
  for (const target of ['/echo/..\\..\\metrics', '/echo/../../api/v1/routes', '/x/%2e%2e/metrics']) {
    const res = await request('GET', target, [`host: ${host}`]);
    assert.equal(res.status, 400, target);
  }
  await assertNothingWritten();
});

test('writes without a JSON or YAML content-type are 415 naming content-type and the accepted list', async () => {
  const cases: [string, string[]][] = [
    ['text/plain', ['content-type: text/plain']],
    ['form', ['content-type: application/x-www-form-urlencoded']],
    ['multipart', ['content-type: multipart/form-data; boundary=x']],
    ['missing', []],
    ['empty', ['content-type: ']],
    ['json-lookalike', ['content-type: application/jsonx']],
  ];
  for (const [name, lines] of cases) {
    for (const [method, target] of [
      ['POST', '/api/v1/apply'],
      ['POST', '/api/v1/routes'],
      ['PUT', '/api/v1/routes/planted'],
    ] as const) {
      const res = await request(method, target, [`host: ${host}`, ...lines], ROUTE_YAML);
      assert.equal(res.status, 415, `${name} ${method} ${target}: ${res.head}`);
      assert.equal(res.json.error.code, 'PORTICO_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE');
      assert.equal(res.json.error.details[0].path, 'content-type');
      assert.match(res.json.error.details[0].message, /application\/json, application\/yaml/);
    }
  }
  // Parameters are fine; the media type is what counts, in any case.
  const ok = await applyYaml([`host: ${host}`, 'content-type: Text/YAML; charset=utf-8']);
  assert.equal(ok.status, 200);
  assert.equal((await request('DELETE', '/api/v1/routes/planted', [`host: ${host}`])).status, 200);
  // A DELETE with a body must not be a form either.
  await applyYaml([`host: ${host}`, 'content-type: application/yaml']);
  const del = await request('DELETE', '/api/v1/routes/planted', [`host: ${host}`, 'content-type: text/plain'], 'x');
  assert.equal(del.status, 415);
  assert.equal((await bus.list('Route')).length, 1, 'the refused DELETE removed nothing');
  assert.equal((await request('DELETE', '/api/v1/routes/planted', [`host: ${host}`])).status, 200);
  await assertNothingWritten();
});

test('a foreign Origin or a cross-site fetch is 403 FORBIDDEN_ORIGIN', async () => {
  const foreign = [
    ['origin: http://evil.example'],
    ['origin: null'],
    [`origin: http://localhost:${api.port + 1}`], // another port on loopback is another origin
    ['origin: http://127.0.0.1'], // port 80, not the admin's
    [`origin: http://127.0.0.1:${api.port}/path`],
    [`origin: http://127.0.0.1:${api.port}`, 'origin: http://evil.example'],
    ['sec-fetch-site: cross-site'],
    ['sec-fetch-site: same-site'],
  ];
  for (const lines of foreign) {
    const res = await applyYaml([`host: ${host}`, 'content-type: application/yaml', ...lines]);
    assert.equal(res.status, 403, `${lines.join()}: ${res.head}`);
    assert.equal(res.json.error.code, 'PORTICO_ERR_ADMIN_FORBIDDEN_ORIGIN');
  }
  const read = await request('GET', '/api/v1/routes', [`host: ${host}`, 'origin: http://evil.example']);
  assert.equal(read.status, 403, 'reads too');
  await assertNothingWritten();

  // The admin's own origin (a browser on the admin page itself) is fine.
  for (const origin of [`http://127.0.0.1:${api.port}`, `http://LOCALHOST:${api.port}`]) {
    const own = await request('GET', '/api/v1/routes', [
      `host: ${host}`,
      `origin: ${origin}`,
      'sec-fetch-site: same-origin',
    ]);
    assert.equal(own.status, 200, origin);
  }
});

test('a Host the listener does not serve is 421 naming host (DNS rebinding)', async () => {
  const foreign = [
    ['host: evil.example'],
    [`host: evil.example:${api.port}`], // the rebinding shape: attacker's name, our port
    [`host: 127.0.0.1:${api.port + 1}`],
    [`host: localhost.evil.example:${api.port}`],
    ['host: 127.0.0.1:0'],
    ['host: 127.0.0.1:99999'],
    [`host: 127.0.0.1@evil.example:${api.port}`],
    [`host: ${host}`, 'host: evil.example'],
  ];
  for (const lines of foreign) {
    const res = await applyYaml([...lines, 'content-type: application/yaml']);
    assert.equal(res.status, 421, `${lines.join()}: ${res.head}`);
    assert.equal(res.json.error.code, 'PORTICO_ERR_ADMIN_MISDIRECTED');
    assert.equal(res.json.error.details[0].path, 'host');
  }
  // HTTP/1.0 may leave Host out; the admin API still wants one.
  const none = await raw('GET /api/v1/routes HTTP/1.0\r\n\r\n');
  assert.equal(none.status, 421);
  await assertNothingWritten();

  for (const name of [
    '127.0.0.1',
    'localhost',
    'LocalHost',
    '[::1]',
    `127.0.0.1:${api.port}`,
    `localhost:${api.port}`,
  ]) {
    const res = await request('GET', '/healthz', [`host: ${name}`]);
    assert.equal(res.status, 200, name);
  }
});

test("a request through Portico's proxy (Via: portico) is 403 PROXIED; so are forwarded ones by default", async () => {
  const proxied = [
    ['via: 1.1 portico'],
    ['via: 2 Portico'],
    ['via: HTTP/1.1 PORTICO:8080'],
    ['via: 1.0 edge, 1.1 portico'],
    ['via: 1.0 edge (Some, comment), 1.1 portico (Portico)'],
    ['via: 1.0 edge', 'via: 1.1 portico'],
  ];
  for (const lines of proxied) {
    const res = await applyYaml([`host: ${host}`, 'content-type: application/yaml', ...lines]);
    assert.equal(res.status, 403, `${lines.join()}: ${res.head}`);
    assert.equal(res.json.error.code, 'PORTICO_ERR_ADMIN_PROXIED');
    assert.equal(res.json.error.details[0].path, 'via');
  }
  for (const header of ['forwarded: for=192.0.2.1', 'x-forwarded-for: 192.0.2.1', 'x-real-ip: 192.0.2.1']) {
    const res = await request('GET', '/api/v1/routes', [`host: ${host}`, header]);
    assert.equal(res.status, 403, header);
    assert.equal(res.json.error.details[0].path, header.split(':')[0]);
  }
  // A Via that only mentions portico in a comment or a hostname that merely contains it is not ours.
  for (const via of ['1.1 edge (portico)', '1.1 portico-edge', '1.1 notportico']) {
    assert.equal((await request('GET', '/healthz', [`host: ${host}`, `via: ${via}`])).status, 200, via);
  }
  await assertNothingWritten();
});

test('a head sent slowly is cut off by the headers timeout', async () => {
  const socket = connect(api.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const started = Date.now();
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
  });
  socket.write(`GET /healthz HTTP/1.1\r\nhost: ${host}\r\n`);
  // One header byte every 50 ms, never finishing the head.
  const drip = setInterval(() => {
    if (!socket.destroyed) socket.write('x');
  }, 50);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
      setTimeout(() => reject(new Error('still open')), 10 * HEADERS_TIMEOUT_MS).unref();
    });
  } finally {
    clearInterval(drip);
    socket.destroy();
  }
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5 * HEADERS_TIMEOUT_MS + 500, `closed after ${elapsed} ms`);
  assert.ok(elapsed >= HEADERS_TIMEOUT_MS - 50, `closed after ${elapsed} ms, before the timeout`);
  assert.match(received, /^HTTP\/1\.1 408 /, 'the client is told why');
});

test('a connection that never sends a byte is closed too', async () => {
  const socket = connect(api.port, '127.0.0.1');
  const started = Date.now();
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    setTimeout(() => reject(new Error('still open')), 10 * HEADERS_TIMEOUT_MS).unref();
  }).finally(() => socket.destroy());
  assert.ok(Date.now() - started < 5 * HEADERS_TIMEOUT_MS + 500, `closed after ${Date.now() - started} ms`);
  assert.match(received, /^HTTP\/1\.1 408 /);
  assert.match(received, /"code":"PORTICO_ERR_ADMIN_REQUEST_TIMEOUT"/);
});

test('a YAML alias bomb is a 400 CONFIG_PARSE naming the document, not a 500', async () => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  ].join('\n');
  for (const target of ['/api/v1/apply', '/api/v1/routes']) {
    const res = await request('POST', target, [`host: ${host}`, 'content-type: application/yaml'], `${bomb}\n`);
    assert.equal(res.status, 400, `${target}: ${res.head}`);
    assert.equal(res.json.error.code, 'PORTICO_ERR_CONFIG_PARSE');
    assert.equal(res.json.error.details[0].document, 'body#0');
    assert.match(res.json.error.details[0].message, /alias/);
  }
  const deep = await request(
    'POST',
    '/api/v1/apply',
    [`host: ${host}`, 'content-type: application/yaml'],
    '['.repeat(100_000),
  );
  assert.equal(deep.status, 400);
  assert.equal(deep.json.error.code, 'PORTICO_ERR_CONFIG_PARSE');
  assert.equal((await request('GET', '/healthz', [`host: ${host}`])).status, 200, 'still serving');
  await assertNothingWritten();
});
