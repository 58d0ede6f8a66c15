/**
 * backendRefs of kind Grpc on real sockets: HTTP/JSON through the pipeline to real gRPC servers. Descriptors by
 * server reflection from grpc-js (plain mapping) and from grpc-java (google.api.http annotations), and from a
 * FileDescriptorSet compiled by buf; unary, server and client streaming; errors as JSON with their field paths
 * and google.rpc.Status details; the descriptors read last survive the server going away.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  type GrpcTestServer,
  type JavaGrpcServerPeer,
  protoDescriptorSet,
  startGrpcServer,
  startJavaGrpcServer,
  TESTKIT_PROTOS_DIR,
  waitUntil,
} from '@portico/testkit';
import { type Pipeline, startPipeline } from './helpers.ts';

let echo: GrpcTestServer;
let java: JavaGrpcServerPeer;
let pipeline: Pipeline;

const service = (name: string, port: number, grpc?: Record<string, unknown>) => ({
  kind: 'Service',
  metadata: { name },
  spec: { protocol: 'grpc', endpoints: [{ address: '127.0.0.1', port }], ...(grpc ? { grpc } : {}) },
});

const route = (name: string, host: string, backend: string) => ({
  kind: 'Route',
  metadata: { name },
  spec: { hostnames: [host], rules: [{ backendRefs: [{ kind: 'Grpc', name: backend }] }] },
});

before(async () => {
  echo = await startGrpcServer();
  java = await startJavaGrpcServer();
  const greeterSet = await protoDescriptorSet(TESTKIT_PROTOS_DIR, ['portico/test/greeter.proto']);
  pipeline = await startPipeline([
    service('echo', echo.port, { metadataHeaders: ['x-tenant'] }),
    service('greeter', echo.port, { descriptorSet: Buffer.from(greeterSet).toString('base64') }),
    service('library', java.port),
    route('echo', 'echo.test', 'echo'),
    route('greeter', 'greeter.test', 'greeter'),
    route('library', 'library.test', 'library'),
  ]);
});

after(async () => {
  await pipeline?.close();
  await echo?.close();
  await java?.close();
});

interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, read field by field in the asserts
  json(): Promise<any>;
}

/** A request with its own Host (fetch refuses to set one). */
function call(
  host: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: pipeline.port,
        path,
        method: init.method ?? 'GET',
        headers: { host, ...init.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode!,
            headers: { get: (name) => (res.headers[name.toLowerCase()] as string | undefined) ?? null },
            text: async () => text,
            json: async () => JSON.parse(text),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const json = (body: unknown) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

describe('unary', () => {
  test('POST /<package>.<Service>/<Method> with no annotation: proto3 JSON both ways, metadata passed on', async () => {
    const res = await call(
      'echo.test',
      '/portico.test.Echo/Say',
      json({
        message: 'hi',
        scalars: { fInt64: '9007199254740993', fBool: true, fBytes: 'AAEC' },
        wellKnown: { timestamp: '2026-12-07T10:00:00Z', duration: '1.5s' },
        mood: 'MOOD_HAPPY',
        labels: { a: 'b' },
      }),
    );
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = JSON.parse(text);
    assert.equal(body.echo.message, 'hi');
    // 64-bit integers are strings in proto3 JSON, exact beyond 2^53.
    assert.equal(body.echo.scalars.fInt64, '9007199254740993');
    assert.equal(body.echo.scalars.fBytes, 'AAEC');
    assert.equal(body.echo.wellKnown.timestamp, '2026-12-07T10:00:00Z');
    assert.equal(body.echo.wellKnown.duration, '1.500s');
    assert.equal(body.echo.mood, 'MOOD_HAPPY');
    assert.deepEqual(body.echo.labels, { a: 'b' });
  });

  test('allowed headers travel as metadata; response metadata and trailers come back as headers', async () => {
    const res = await call('echo.test', '/portico.test.Echo/Say', {
      ...json({ message: 'meta', replyHeaders: { 'x-from': 'head' }, replyTrailers: { 'x-end': 'tail' } }),
      headers: { 'content-type': 'application/json', 'x-tenant': 't-1', 'x-secret': 'no' },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.metadata['x-tenant'], 't-1');
    assert.ok(body.metadata['x-request-id'], 'the request id reaches the backend');
    assert.equal(body.metadata['x-secret'], undefined, 'a header not allowed stays behind');
    assert.equal(res.headers.get('grpc-metadata-x-from'), 'head');
    assert.equal(res.headers.get('grpc-trailer-x-end'), 'tail');
  });

  test('annotations from a descriptor set: GET with a path variable, POST with body "*"', async () => {
    const get = await call('greeter.test', '/v1/greet/ada');
    assert.equal(get.status, 200);
    assert.deepEqual(await get.json(), { message: 'Hello ada' });
    const post = await call('greeter.test', '/v1/greet', json({ name: 'bob' }));
    assert.deepEqual(await post.json(), { message: 'Hello bob' });
  });

  test('annotations read by reflection from grpc-java: nested path variables, query parameters, response_body', async () => {
    const book = await call('library.test', '/v1/shelves/1/books/1');
    assert.equal(book.status, 200);
    const b = await book.json();
    assert.equal(b.name, 'shelves/1/books/1');
    assert.equal(b.title, 'The Dispossessed');
    const list = await call('library.test', '/v1/shelves/1/books?pageSize=1');
    assert.equal(list.status, 200);
    const l = await list.json();
    assert.equal(l.books.length, 1);
    const stats = await call('library.test', '/v1/shelves/1/stats');
    assert.equal(stats.status, 200);
    const s = await stats.json();
    assert.equal(typeof s, 'object');
    assert.equal(s.books, undefined, 'response_body: the stats message alone, not its envelope');
  });
});

describe('streaming', () => {
  test('server streaming: NDJSON by default, one message per line', async () => {
    const res = await call('echo.test', '/portico.test.Echo/Count', json({ count: 5 }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.deepEqual(
      lines.map((l) => l.index ?? 0),
      [0, 1, 2, 3, 4],
    );
  });

  test('server streaming as SSE when Accept asks for it', async () => {
    const res = await call('echo.test', '/portico.test.Echo/Count', {
      ...json({ count: 3 }),
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.startsWith('data: {')));
  });

  test('client streaming from an NDJSON body', async () => {
    const body = ['{"value":"5"}', '{"value":7}', '', '{"value":"9007199254740993"}'].join('\n');
    const res = await call('echo.test', '/portico.test.Echo/Sum', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { total: '9007199254741005', count: 3 });
  });
});

describe('bad input and failures', () => {
  test('invalid JSON, an unknown field, a type mismatch: 400 naming the field and the type expected', async () => {
    const broken = await call('echo.test', '/portico.test.Echo/Say', {
      method: 'POST',
      body: '{"message": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(broken.status, 400);
    assert.equal((await broken.json()).error.code, 'PORTICO_ERR_GRPC_BAD_REQUEST');

    const unknown = await call('echo.test', '/portico.test.Echo/Say', json({ nope: 1 }));
    assert.equal(unknown.status, 400);
    const u = await unknown.json();
    assert.match(JSON.stringify(u.error.details), /nope/);

    const mismatch = await call('echo.test', '/portico.test.Echo/Say', json({ scalars: { fInt32: 'many' } }));
    assert.equal(mismatch.status, 400);
    const m = await mismatch.json();
    assert.match(JSON.stringify(m.error.details), /scalars\.fInt32/);
    assert.match(JSON.stringify(m.error.details), /int32/);
  });

  test('an unknown method is 404; a known path with another verb is 405 with Allow', async () => {
    const missing = await call('echo.test', '/portico.test.Echo/Shout', json({}));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/json');
    const verb = await call('greeter.test', '/v1/greet/ada', { method: 'DELETE' });
    assert.equal(verb.status, 405);
    assert.match(verb.headers.get('allow') ?? '', /GET/);
  });

  test('a gRPC error status maps to its HTTP status with google.rpc.Status details decoded', async () => {
    const res = await call(
      'echo.test',
      '/portico.test.Echo/Say',
      json({ fail: { code: 5, message: 'no such thing', details: [{ reason: 'GONE', domain: 'test' }] } }),
    );
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.code, 5);
    assert.equal(body.message, 'no such thing');
    assert.equal(body.details[0]['@type'], 'type.googleapis.com/portico.test.ErrorDetail');
    assert.equal(body.details[0].reason, 'GONE');

    // grpc-java's standard google.rpc.ErrorInfo, decoded although the service's own protos never import it.
    const javaMissing = await call('library.test', '/v1/shelves/9/books/9');
    assert.equal(javaMissing.status, 404);
    const j = await javaMissing.json();
    assert.equal(j.code, 5);
    assert.equal(j.message, 'book shelves/9/books/9 not found');
    assert.equal(j.details[0]['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.equal(j.details[0].reason, 'BOOK_NOT_FOUND');
  });

  test('a deadline from grpc-timeout ends a slow call with 504', async () => {
    const res = await call('echo.test', '/portico.test.Echo/Say', {
      ...json({ message: 'slow', delayMs: 2000 }),
      headers: { 'content-type': 'application/json', 'grpc-timeout': '100m' },
    });
    assert.equal(res.status, 504);
    assert.equal((await res.json()).code, 4);
  });
});

describe('the server going away', () => {
  test('descriptors read before stay in use: the method is still known and the call fails as unavailable', async () => {
    const server = await startGrpcServer();
    await pipeline.put(service('brief', server.port));
    await pipeline.put(route('brief', 'brief.test', 'brief'));
    const ok = await call('brief.test', '/portico.test.Echo/Say', json({ message: 'up' }));
    assert.equal(ok.status, 200);
    await server.close();
    const down = await call('brief.test', '/portico.test.Echo/Say', json({ message: 'down' }));
    assert.equal(down.status, 503);
    assert.equal((await down.json()).code, 14);
  });
});

describe('live changes', () => {
  test('a method deployed later (server restarted with one more service) answers without a Portico restart', async () => {
    const only = { dir: TESTKIT_PROTOS_DIR, files: ['portico/test/echo.proto'] };
    let server = await startGrpcServer({ protos: only });
    const port = server.port;
    try {
      await pipeline.put(service('rolling', port));
      await pipeline.put(route('rolling', 'rolling.test', 'rolling'));
      const before = await call('rolling.test', '/portico.test.Echo/Say', json({ message: 'v1' }));
      assert.equal(before.status, 200);
      const missing = await call('rolling.test', '/portico.test.v1.Greeter/SayHello', json({ name: 'new' }));
      assert.equal(missing.status, 404);
      await server.close();
      server = await startGrpcServer({ port });
      // A method not known yet re-reads reflection, at most every 5 s: the new method answers within that.
      const hello = await waitUntil(
        'the new method to answer',
        async () => {
          const res = await call('rolling.test', '/portico.test.v1.Greeter/SayHello', json({ name: 'new' }));
          return res.status === 200 ? res.json() : undefined;
        },
        { timeoutMs: 10_000, everyMs: 250 },
      );
      assert.deepEqual(hello, { message: 'Hello new' });
    } finally {
      await server.close();
    }
  });

  test('a mapping changed under load (a new descriptor set): the new path answers, no request fails', async () => {
    const echoOnly = await protoDescriptorSet(TESTKIT_PROTOS_DIR, ['portico/test/echo.proto']);
    const withGreeter = await protoDescriptorSet(TESTKIT_PROTOS_DIR, [
      'portico/test/echo.proto',
      'portico/test/greeter.proto',
    ]);
    const set = (bytes: Uint8Array) =>
      service('mapped', echo.port, { descriptorSet: Buffer.from(bytes).toString('base64') });
    await pipeline.put(set(echoOnly));
    await pipeline.put(route('mapped', 'mapped.test', 'mapped'));
    assert.equal((await call('mapped.test', '/v1/greet/ada')).status, 404);
    const statuses: number[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const batch = await Promise.all(
          Array.from({ length: 8 }, () => call('mapped.test', '/portico.test.Echo/Say', json({ message: 'load' }))),
        );
        statuses.push(...batch.map((r) => r.status));
      }
    })();
    await pipeline.put(set(withGreeter));
    const greet = await waitUntil(
      'the annotated path to answer',
      async () => {
        const res = await call('mapped.test', '/v1/greet/ada');
        return res.status === 200 ? res.json() : undefined;
      },
      { timeoutMs: 5_000, everyMs: 50 },
    );
    loading = false;
    await load;
    assert.deepEqual(greet, { message: 'Hello ada' });
    assert.ok(statuses.length >= 16, `${statuses.length} requests under load`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
  });
});
