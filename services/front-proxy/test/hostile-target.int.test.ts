/**
 * Hostile request targets and authorities, written as raw bytes over node:net (and raw HTTP/2 frames for h2c) so
 * no client library tidies them up: characters some backends read as separators or dot segments are refused
 * before a backend sees anything, encoded dots are matched and forwarded as the same normalized path, an
 * absolute-form authority replaces Host, and duplicate, invalid or conflicting authorities are 400s.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import {
  type Backend,
  type EchoReply,
  type RawHttpResponse,
  rawHttpExchange,
  startEchoBackend,
} from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';
import { frame, headerBlock } from './raw-h2.ts';

const bus = createMemoryBus();
let proxy: FrontProxy;
let main: Backend;
let other: Backend;
let privateBackend: Backend;

function resource(input: unknown): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...(input as object) });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

function service(name: string, b: Backend): unknown {
  return { kind: 'Service', metadata: { name }, spec: { endpoints: [{ address: '127.0.0.1', port: b.port }] } };
}

function route(name: string, hostnames: string[] | undefined, prefix: string, backend: string): unknown {
  return {
    kind: 'Route',
    metadata: { name },
    spec: {
      ...(hostnames === undefined ? {} : { hostnames }),
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: prefix } }], backendRefs: [{ name: backend }] }],
    },
  };
}

before(async () => {
  [main, other, privateBackend] = await Promise.all([
    startEchoBackend('main'),
    startEchoBackend('other'),
    startEchoBackend('private'),
  ]);
  for (const doc of [
    service('main', main),
    service('other', other),
    service('private', privateBackend),
    route('public', ['main.example'], '/public', 'main'),
    route('private', ['main.example'], '/private', 'private'),
    route('other', ['other.example'], '/', 'other'),
  ])
    await bus.put(resource(doc));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
    metrics: new ProxyMetrics(createMetricsRegistry()),
    accessLog: false,
  });
});

after(async () => {
  await proxy.close();
  await Promise.all([main, other, privateBackend].map((b) => b.close()));
  await bus.close();
});

type RawResponse = RawHttpResponse;

function raw(bytes: string): Promise<RawResponse> {
  return rawHttpExchange(proxy.port, bytes);
}

function get(target: string, fields = 'Host: main.example\r\n'): Promise<RawResponse> {
  return raw(`GET ${target} HTTP/1.1\r\n${fields}Connection: close\r\n\r\n`);
}

function backendTotal(): number {
  return main.requests.length + other.requests.length + privateBackend.requests.length;
}

async function assertRefused(target: string, fields?: string): Promise<void> {
  await assertRefusedRaw(get(target, fields), target);
}

async function assertRefusedRaw(response: Promise<RawResponse>, label: string): Promise<void> {
  const seen = backendTotal();
  const res = await response;
  assert.equal(res.status, 400, `${JSON.stringify(label)}: ${res.head}`);
  assert.match(res.head, /content-type: application\/json/i);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'PORTICO_ERR_PROXY_BAD_REQUEST', JSON.stringify(label));
  assert.equal(backendTotal(), seen, `${JSON.stringify(label)} reached a backend`);
}

async function assertForwarded(target: string, backend: string, path: string, fields?: string): Promise<EchoReply> {
  const res = await get(target, fields);
  assert.equal(res.status, 200, `${JSON.stringify(target)}: ${res.head}\n${res.body}`);
  const echo = JSON.parse(res.body) as EchoReply;
  assert.equal(echo.backend, backend, JSON.stringify(target));
  assert.equal(echo.path, path, JSON.stringify(target));
  return echo;
}

test('a raw backslash is a 400 and reaches no backend (the shape that reached the admin API apply)', async () => {
  await assertRefused('/public/..\\..\\api\\v1\\apply');
  await assertRefused('/public\\..\\private');
  await assertRefused('/public/x\\');
});

test('a dot segment with ;params is a 400', async () => {
  await assertRefused('/public/..;/private/x');
  await assertRefused('/public/..;jsessionid=abc/private/x');
  await assertRefused('/public/.;x/y');
  await assertRefused('/public/%2e%2e;/private');
});

test('encoded slash and backslash are a 400 by default', async () => {
  await assertRefused('/public/a%2Fb');
  await assertRefused('/public/..%2f..%2fprivate');
  await assertRefused('/public/a%5Cb');
  await assertRefused('/public/..%5c..%5cprivate');
});

test('encoded NUL and control bytes are a 400', async () => {
  await assertRefused('/public/a%00b');
  await assertRefused('/public/a%0d%0aX-Injected:%201');
  await assertRefused('/public/a%7F');
});

test('a fragment in the target is a 400', async () => {
  await assertRefused('/public/a#../../private');
});

test('encoded dot segments are removed: the normalized path is both matched and forwarded', async () => {
  await assertForwarded('/public/x/%2e%2e/y', 'main', '/public/y');
  await assertForwarded('/public/x/.%2E/y?q=1', 'main', '/public/y?q=1');
  // The route is picked on the normalized path: this one belongs to /private, and /private is what is sent.
  await assertForwarded('/public/%2e%2e/private/x', 'private', '/private/x');
  await assertForwarded('/public/../private/x', 'private', '/private/x');
  // A path parameter that is no dot segment passes on as sent.
  await assertForwarded('/public/a;v=1/b', 'main', '/public/a;v=1/b');
});

test('absolute-form: the target authority routes and is the Host sent upstream, whatever Host says', async () => {
  const toOther = await assertForwarded(
    'http://other.example/public/x?a=1',
    'other',
    '/public/x?a=1',
    'Host: main.example\r\n',
  );
  assert.equal(toOther.headers.host, 'other.example');
  assert.equal(toOther.headers['x-forwarded-host'], 'other.example');
  const toMain = await assertForwarded(
    'http://MAIN.example:80/public/y',
    'main',
    '/public/y',
    'Host: other.example\r\n',
  );
  assert.equal(toMain.headers.host, 'MAIN.example:80');
  // The same rules hold for the path of an absolute-form target.
  await assertRefused('http://main.example/public/..\\private', 'Host: main.example\r\n');
  await assertRefused('http://user@main.example/public/x', 'Host: main.example\r\n');
  await assertRefused('http:///public/x', 'Host: main.example\r\n');
});

test('the Upgrade path refuses the same targets and authorities', async () => {
  // Connection: Upgrade alone, so Node hands the request to the upgrade handler, which closes after refusing.
  const upgrade = (target: string, hosts: string) =>
    raw(
      `GET ${target} HTTP/1.1\r\n${hosts}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  const main = 'Host: main.example\r\n';
  await assertRefusedRaw(upgrade('/public/..\\..\\api', main), 'upgrade with backslashes');
  await assertRefusedRaw(upgrade('/public/a%2Fb', main), 'upgrade with %2F');
  await assertRefusedRaw(upgrade('/public/..;/private', main), 'upgrade with ..;');
  await assertRefusedRaw(upgrade('/public/x', `${main}Host: other.example\r\n`), 'upgrade with two Hosts');
});

test('two Host field lines are a 400, equal or not', async () => {
  await assertRefused('/public/x', 'Host: main.example\r\nHost: other.example\r\n');
  await assertRefused('/public/x', 'Host: main.example\r\nhost: main.example\r\n');
});

test('an invalid or missing Host is a 400', async () => {
  for (const host of [
    'main.example/x',
    'main.example\\x',
    'user@main.example',
    'main.example:x',
    'main.example:99999',
    'main.example,other.example',
    'main%2eexample',
    '[::1',
    '',
  ])
    await assertRefused('/public/x', `Host: ${host}\r\n`);
  await assertRefused('/public/x', '');
});

// HTTP/2 (h2c with prior knowledge): HEADERS written by hand with an HPACK literal encoder.

/** One h2c request; answers the first byte of the response HEADERS block (an HPACK static index) and the DATA. */
function h2(fields: [string, string][]): Promise<{ statusByte: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          frame(4, 0, 0, Buffer.alloc(0)),
          // HEADERS, END_STREAM | END_HEADERS, stream 1
          frame(1, 0x5, 1, headerBlock(fields)),
        ]),
      );
    });
    let buffered = Buffer.alloc(0);
    let statusByte = -1;
    let body = '';
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const [type, flags, stream] = [buffered[3]!, buffered[4]!, buffered.readUInt32BE(5) & 0x7fffffff];
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === 4 && (flags & 1) === 0) socket.write(frame(4, 1, 0, Buffer.alloc(0)));
        if (stream !== 1) continue;
        if (type === 1) statusByte = payload[0]!;
        if (type === 0) body += payload.toString('latin1');
        if (type === 3) return finish(new Error(`stream reset, code ${payload.readUInt32BE(0)}`));
        if ((type === 0 || type === 1) && (flags & 1) !== 0) return finish();
      }
    });
    socket.on('error', reject);
    function finish(err?: Error): void {
      socket.destroy();
      if (err) reject(err);
      else resolve({ statusByte, body });
    }
  });
}

// HPACK static table (RFC 7541 Appendix A): index 8 is ":status: 200", 12 is ":status: 400".
const STATUS_200 = 0x80 | 8;
const STATUS_400 = 0x80 | 12;
const H2_BASE: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'http'],
];

test('h2c: a host field that disagrees with :authority is a 400; one that agrees is served', async () => {
  const seen = backendTotal();
  const bad = await h2([...H2_BASE, [':path', '/public/x'], [':authority', 'main.example'], ['host', 'other.example']]);
  assert.equal(bad.statusByte, STATUS_400);
  assert.equal((JSON.parse(bad.body) as { error: { code: string } }).error.code, 'PORTICO_ERR_PROXY_BAD_REQUEST');
  assert.equal(backendTotal(), seen);
  const good = await h2([
    ...H2_BASE,
    [':path', '/public/x'],
    [':authority', 'main.example'],
    ['host', 'MAIN.example:80'],
  ]);
  assert.equal(good.statusByte, STATUS_200);
  const echo = JSON.parse(good.body) as EchoReply;
  assert.equal(echo.backend, 'main');
  assert.equal(echo.headers.host, 'main.example');
});

test('h2c: a backslash, a fragment or an encoded slash in :path is a 400 (nghttp2 lets them through)', async () => {
  const seen = backendTotal();
  for (const path of ['/public/..\\..\\private', '/public/a#b', '/public/a%2fb', '/public/..;/private']) {
    const res = await h2([...H2_BASE, [':path', path], [':authority', 'main.example']]);
    assert.equal(res.statusByte, STATUS_400, path);
    assert.match(res.body, /PORTICO_ERR_PROXY_BAD_REQUEST/, path);
  }
  assert.equal(backendTotal(), seen);
  // Latin-1 bytes in :path are percent-encoded: matched and forwarded as the same ASCII path.
  const res = await h2([...H2_BASE, [':path', '/public/caf\u00e9'], [':authority', 'main.example']]);
  assert.equal(res.statusByte, STATUS_200);
  assert.equal((JSON.parse(res.body) as EchoReply).path, '/public/caf%E9');
});
