/**
 * Raw-bytes gRPC calls of every kind against the test kit's real grpc-js server: statuses, details, metadata both
 * ways, deadlines, streaming with backpressure, cancellation and a dead endpoint.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FileRegistry } from '@bufbuild/protobuf';
import { Metadata, type ServerWritableStream, status } from '@grpc/grpc-js';
import { freePort, type GrpcTestServer, startGrpcServer, waitUntil } from '@portico/testkit';
import {
  GrpcCallOptionError,
  GrpcChannels,
  type GrpcEndpoint,
  headersFromResponseMetadata,
  headersFromTrailers,
  httpStatusFromGrpcCode,
  requestMetadataMapper,
  rpcStatusToJson,
} from '../src/index.ts';
import { type Codec, codec, demoRegistry, recorder, sleep } from './call-helpers.ts';

const ECHO = '/portico.test.Echo';

describe('gRPC calls with raw messages', () => {
  let server: GrpcTestServer;
  let endpoint: GrpcEndpoint;
  let registry: FileRegistry;
  let proto: Codec;
  const channels = new GrpcChannels();

  before(async () => {
    [server, registry] = await Promise.all([startGrpcServer(), demoRegistry()]);
    proto = codec(registry);
    endpoint = { address: '127.0.0.1', port: server.port };
  });

  after(async () => {
    channels.close();
    await server?.close();
  });

  /** Metadata carrying a fresh x-request-id, to find the call among those the server recorded. */
  function tagged(): { metadata: Metadata; id: string } {
    const id = randomUUID();
    const metadata = new Metadata();
    metadata.set('x-request-id', id);
    return { metadata, id };
  }

  function serverRecordOf(id: string) {
    return server.calls.find((call) => call.metadata.get('x-request-id')[0] === id);
  }

  test('unary: headers become metadata (-bin too), reply headers and trailers come back', async () => {
    const toMetadata = requestMetadataMapper();
    const metadata = toMetadata({
      authorization: 'Bearer abc',
      'grpc-metadata-tenant': 'acme',
      'grpc-metadata-blob-bin': Buffer.from([1, 2, 3]).toString('base64'),
      cookie: 'not forwarded',
    });
    const { listener, rec } = recorder();
    channels.startCall(
      endpoint,
      {
        path: `${ECHO}/Say`,
        kind: 'unary',
        metadata,
        message: proto.encode('EchoRequest', {
          message: 'hello',
          replyHeaders: { 'x-served-by': 'echo-1', 'x-blob-bin': Buffer.from([9, 8]).toString('base64') },
          replyTrailers: { 'x-cost': '7' },
        }),
      },
      listener,
    );
    const final = await rec.ended;
    assert.equal(final.code, status.OK);
    assert.deepEqual(rec.events, ['headers', 'message', 'end']);
    const reply = proto.decode('EchoReply', rec.messages[0]!);
    assert.equal((reply.echo as { message: string }).message, 'hello');
    const seen = reply.metadata as Record<string, string>;
    assert.equal(seen.authorization, 'Bearer abc');
    assert.equal(seen.tenant, 'acme');
    assert.equal(seen['blob-bin'], 'AQID');
    assert.equal(seen.cookie, undefined);
    const headers = headersFromResponseMetadata(rec.headers!);
    assert.deepEqual(headers['grpc-metadata-x-served-by'], ['echo-1']);
    assert.deepEqual(headers['grpc-metadata-x-blob-bin'], ['CQg=']);
    assert.equal(headers['grpc-metadata-content-type'], undefined);
    assert.deepEqual(headersFromTrailers(final.metadata), { 'grpc-trailer-x-cost': ['7'] });
  });

  test('every status code from the server reaches the caller, with its message and HTTP status', async () => {
    const codes = Array.from({ length: 16 }, (_, i) => i + 1);
    const results = await Promise.all(
      codes.map(async (code) => {
        const { listener, rec } = recorder();
        channels.startCall(
          endpoint,
          {
            path: `${ECHO}/Say`,
            kind: 'unary',
            message: proto.encode('EchoRequest', { fail: { code, message: `failed with ${code}` } }),
          },
          listener,
        );
        const final = await rec.ended;
        assert.equal(rec.messages.length, 0);
        return [final.code, final.details, httpStatusFromGrpcCode(final.code)];
      }),
    );
    const http = [499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
    assert.deepEqual(
      results,
      codes.map((code, i) => [code, `failed with ${code}`, http[i]]),
    );
  });

  test('error details: decoded with the registry, base64 without it', async () => {
    const { listener, rec } = recorder();
    const detail = { reason: 'QUOTA', domain: 'portico.dev', metadata: { limit: '5' } };
    channels.startCall(
      endpoint,
      {
        path: `${ECHO}/Say`,
        kind: 'unary',
        message: proto.encode('EchoRequest', { fail: { code: 9, message: 'nope', details: [detail] } }),
      },
      listener,
    );
    const final = await rec.ended;
    assert.equal(httpStatusFromGrpcCode(final.code), 400);
    assert.deepEqual(rpcStatusToJson(final, registry), {
      code: 9,
      message: 'nope',
      details: [{ '@type': 'type.googleapis.com/portico.test.ErrorDetail', ...detail }],
    });
    const raw = rpcStatusToJson(final);
    assert.equal(raw.details.length, 1);
    assert.equal(raw.details[0]!['@type'], 'type.googleapis.com/portico.test.ErrorDetail');
    const bytes = Buffer.from(raw.details[0]!.value as string, 'base64');
    assert.deepEqual(proto.decode('ErrorDetail', bytes), detail);
  });

  test('unary: a reply the listener pauses on is followed by the status only after resume()', async () => {
    const { listener, rec } = recorder({ pauseAfter: 1 });
    const call = channels.startCall(
      endpoint,
      { path: `${ECHO}/Say`, kind: 'unary', message: proto.encode('EchoRequest', { message: 'x' }) },
      listener,
    );
    await waitUntil('the reply', () => rec.messages.length === 1 || undefined);
    await sleep(100);
    assert.equal(rec.status, undefined);
    call.resume();
    assert.equal((await rec.ended).code, status.OK);
    assert.deepEqual(rec.events, ['headers', 'message', 'end']);
  });

  test('deadline: the call ends DEADLINE_EXCEEDED (504) on time and the server sees it cancelled', async () => {
    const { metadata, id } = tagged();
    const { listener, rec } = recorder();
    const started = Date.now();
    channels.startCall(
      endpoint,
      {
        path: `${ECHO}/Say`,
        kind: 'unary',
        metadata,
        timeoutMs: 150,
        message: proto.encode('EchoRequest', { delayMs: 3000 }),
      },
      listener,
    );
    const final = await rec.ended;
    const took = Date.now() - started;
    assert.equal(final.code, status.DEADLINE_EXCEEDED);
    assert.equal(httpStatusFromGrpcCode(final.code), 504);
    assert.ok(took >= 140 && took < 2000, `ended after ${took} ms`);
    await waitUntil('the server to see the call cancelled', () => serverRecordOf(id)?.cancelled);
  });

  test('server stream: 1,000 messages in order, then OK', async () => {
    const { listener, rec } = recorder();
    channels.startCall(
      endpoint,
      { path: `${ECHO}/Count`, kind: 'server-stream', message: proto.encode('CountRequest', { count: 1000 }) },
      listener,
    );
    assert.equal((await rec.ended).code, status.OK);
    assert.equal(rec.messages.length, 1000);
    rec.messages.forEach((bytes, index) => {
      assert.deepEqual(proto.decode('CountReply', bytes), { index, text: `message ${index}` });
    });
    assert.equal(rec.events.at(-1), 'end');
  });

  test('server stream that fails after it started: its messages, then the status', async () => {
    const { listener, rec } = recorder();
    channels.startCall(
      endpoint,
      {
        path: `${ECHO}/Count`,
        kind: 'server-stream',
        message: proto.encode('CountRequest', { count: 3, fail: { code: 8, message: 'quota' } }),
      },
      listener,
    );
    const final = await rec.ended;
    assert.deepEqual([final.code, final.details, httpStatusFromGrpcCode(final.code)], [8, 'quota', 429]);
    assert.deepEqual(rec.events, ['headers', 'message', 'message', 'message', 'end']);
  });

  test('client stream: the sum of 1..100 written with backpressure', async () => {
    const { listener, rec } = recorder();
    const call = channels.startCall(endpoint, { path: `${ECHO}/Sum`, kind: 'client-stream' }, listener);
    for (let value = 1; value <= 100; value++) {
      if (!call.write(proto.encode('SumRequest', { value: String(value) }))) {
        const drains = rec.drains;
        await waitUntil('drain', () => rec.drains > drains || undefined);
      }
    }
    call.end();
    assert.ok(rec.drains > 0, 'write() asked to wait at least once');
    assert.equal((await rec.ended).code, status.OK);
    assert.equal(rec.messages.length, 1);
    assert.deepEqual(proto.decode('SumReply', rec.messages[0]!), { total: '5050', count: 100 });
  });

  test('client stream that the server fails mid-way: the status, no message', async () => {
    const { listener, rec } = recorder();
    const call = channels.startCall(endpoint, { path: `${ECHO}/Sum`, kind: 'client-stream' }, listener);
    call.write(proto.encode('SumRequest', { value: '1' }));
    call.write(proto.encode('SumRequest', { fail: { code: 3, message: 'bad value' } }));
    const final = await rec.ended;
    assert.deepEqual([final.code, final.details], [status.INVALID_ARGUMENT, 'bad value']);
    assert.equal(rec.messages.length, 0);
    call.end();
    assert.equal(call.write(proto.encode('SumRequest', { value: '2' })), true, 'a write after the end is dropped');
  });

  test('bidi: each message is answered before the next is sent', async () => {
    const { listener, rec } = recorder();
    const call = channels.startCall(endpoint, { path: `${ECHO}/Chat`, kind: 'bidi' }, listener);
    for (const [i, text] of ['a', 'b', 'c'].entries()) {
      call.write(proto.encode('EchoRequest', { message: text }));
      await waitUntil(`reply ${i}`, () => rec.messages.length === i + 1 || undefined);
    }
    call.end();
    assert.equal((await rec.ended).code, status.OK);
    const replies = rec.messages.map((bytes) => proto.decode('EchoReply', bytes));
    assert.deepEqual(
      replies.map((reply) => [reply.index, (reply.echo as { message: string }).message]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ],
    );
  });

  test('cancel mid-stream: CANCELLED at once, nothing after, the server sees the cancellation', async () => {
    const { metadata, id } = tagged();
    const { listener, rec } = recorder();
    const call = channels.startCall(
      endpoint,
      {
        path: `${ECHO}/Count`,
        kind: 'server-stream',
        metadata,
        message: proto.encode('CountRequest', { count: 1000, intervalMs: 5 }),
      },
      listener,
    );
    await waitUntil('5 messages', () => rec.messages.length >= 5 || undefined);
    call.cancel();
    assert.equal(rec.status?.code, status.CANCELLED, 'onEnd ran inside cancel()');
    assert.equal(httpStatusFromGrpcCode(rec.status.code), 499);
    const delivered = rec.messages.length;
    await waitUntil('the server to see the call cancelled', () => serverRecordOf(id)?.cancelled);
    await sleep(50);
    assert.equal(rec.messages.length, delivered);
    call.cancel();
    assert.equal(rec.events.filter((event) => event === 'end').length, 1);
  });

  test('a dead endpoint fails UNAVAILABLE (503)', async () => {
    const { listener, rec } = recorder();
    channels.startCall(
      { address: '127.0.0.1', port: await freePort() },
      { path: `${ECHO}/Say`, kind: 'unary', message: proto.encode('EchoRequest', {}) },
      listener,
    );
    const final = await rec.ended;
    assert.equal(final.code, status.UNAVAILABLE);
    assert.equal(httpStatusFromGrpcCode(final.code), 503);
  });

  test('calls shaped wrong for their kind are refused before anything is sent', () => {
    const { listener } = recorder();
    const message = proto.encode('EchoRequest', {});
    assert.throws(
      () => channels.startCall(endpoint, { path: 'Say', kind: 'unary', message }, listener),
      GrpcCallOptionError,
    );
    assert.throws(
      () => channels.startCall(endpoint, { path: `${ECHO}/Say`, kind: 'unary' }, listener),
      GrpcCallOptionError,
    );
    assert.throws(
      () => channels.startCall(endpoint, { path: `${ECHO}/Sum`, kind: 'client-stream', message }, listener),
      GrpcCallOptionError,
    );
    const call = channels.startCall(endpoint, { path: `${ECHO}/Say`, kind: 'unary', message }, listener);
    assert.throws(() => call.write(message), GrpcCallOptionError);
    assert.throws(() => call.end(), GrpcCallOptionError);
    call.cancel();
  });
});

describe('server stream backpressure', () => {
  let server: GrpcTestServer;
  let proto: Codec;
  /** Replies the server's Count has handed to grpc-js so far. */
  let written = 0;
  const channels = new GrpcChannels();

  before(async () => {
    const big = 'x'.repeat(16 * 1024);
    [server, proto] = await Promise.all([
      startGrpcServer({
        implementations: {
          'portico.test.Echo': {
            Count: async (call: ServerWritableStream<{ count: number }, unknown>) => {
              for (let index = 0; index < call.request.count; index++) {
                if (call.cancelled) return;
                written = index + 1;
                if (!call.write({ index, text: big })) await new Promise((resolve) => call.once('drain', resolve));
              }
              call.end();
            },
          },
        },
      }),
      demoRegistry().then(codec),
    ]);
  });

  after(async () => {
    channels.close();
    await server?.close();
  });

  test('a paused listener holds the server back; resume() delivers all 1,000 in order', async () => {
    const { listener, rec } = recorder({ pauseAfter: 10 });
    const call = channels.startCall(
      { address: '127.0.0.1', port: server.port },
      { path: `${ECHO}/Count`, kind: 'server-stream', message: proto.encode('CountRequest', { count: 1000 }) },
      listener,
    );
    const held = await waitUntil(
      'the server to stop writing',
      async () => {
        const before = written;
        await sleep(150);
        return written === before && before > 0 ? before : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.ok(held < 1000, `the server wrote ${held} of 1000 while the listener was paused`);
    assert.equal(rec.messages.length, 10, 'nothing delivered while paused');
    call.resume();
    assert.equal((await rec.ended).code, status.OK);
    assert.equal(rec.messages.length, 1000);
    rec.messages.forEach((bytes, index) => {
      assert.equal(proto.decode('CountReply', bytes).index, index);
    });
  });
});
