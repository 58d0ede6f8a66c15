/**
 * The test kit's gRPC server, driven with messages built from its own reflected descriptors: the demo
 * implementations of every streaming kind and their test switches (fail with details, headers, trailers), and
 * caller-supplied implementations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FileRegistry, fromBinary, fromJson, type JsonValue, toBinary, toJson } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import { type GrpcTestServer, startGrpcServer } from '@portico/testkit';
import { loadReflection } from '../src/descriptors/reflection.ts';

const identity = {
  serialize: (bytes: Uint8Array) => Buffer.from(bytes),
  deserialize: (bytes: Buffer) => new Uint8Array(bytes),
};

describe('startGrpcServer demo implementations', () => {
  let server: GrpcTestServer;
  let registry: FileRegistry;
  let client: grpc.Client;
  const encode = (type: string, json: JsonValue) => {
    const schema = registry.getMessage(type);
    assert.ok(schema, type);
    return toBinary(schema, fromJson(schema, json, { registry }));
  };
  const decode = (type: string, bytes: Uint8Array) => {
    const schema = registry.getMessage(type);
    assert.ok(schema, type);
    return toJson(schema, fromBinary(schema, bytes), { registry }) as Record<string, unknown>;
  };
  const unary = (path: string, request: Uint8Array, metadata = new grpc.Metadata()) => {
    let headers: grpc.Metadata | undefined;
    let trailers: grpc.Metadata | undefined;
    return new Promise<{ reply: Uint8Array; headers?: grpc.Metadata; trailers?: grpc.Metadata }>((resolve, reject) => {
      const call = client.makeUnaryRequest(path, identity.serialize, identity.deserialize, request, metadata, (e, r) =>
        e ? reject(e) : setImmediate(() => resolve({ reply: r as Uint8Array, headers, trailers })),
      );
      call.on('metadata', (m) => {
        headers = m;
      });
      call.on('status', (s) => {
        trailers = s.metadata;
      });
    });
  };

  before(async () => {
    server = await startGrpcServer();
    registry = await loadReflection({ host: '127.0.0.1', port: server.port });
    client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.close();
  });

  test('Say echoes the exact request and the request metadata, and sends the asked headers and trailers', async () => {
    const request = {
      message: 'hi',
      byId: { '9007199254740993': { name: 'big' } },
      replyHeaders: { 'x-head': 'h' },
      replyTrailers: { 'x-trail': 't' },
    };
    const metadata = new grpc.Metadata();
    metadata.add('x-text', 'a');
    metadata.add('x-raw-bin', Buffer.from([1, 2, 3]));
    const { reply, headers, trailers } = await unary(
      '/portico.test.Echo/Say',
      encode('portico.test.EchoRequest', request),
      metadata,
    );
    const answer = decode('portico.test.EchoReply', reply);
    assert.deepEqual(answer.echo, request);
    assert.equal((answer.metadata as Record<string, string>)['x-text'], 'a');
    assert.equal((answer.metadata as Record<string, string>)['x-raw-bin'], 'AQID');
    assert.deepEqual(headers?.get('x-head'), ['h']);
    assert.deepEqual(trailers?.get('x-trail'), ['t']);
    assert.equal(server.calls.at(-1)?.path, '/portico.test.Echo/Say');
  });

  test('fail ends the call with the status, message and google.rpc.Status details', async () => {
    const request = encode('portico.test.EchoRequest', {
      fail: { code: 5, message: 'no such book', details: [{ reason: 'GONE', domain: 'test', metadata: { id: '7' } }] },
    });
    await assert.rejects(unary('/portico.test.Echo/Say', request), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.NOT_FOUND);
      assert.equal(error.details, 'no such book');
      const [bytes] = error.metadata.get('grpc-status-details-bin');
      assert.ok(bytes instanceof Buffer);
      // google.rpc.Status: code=1, message=2, details=3 (Any: type_url=1, value=2).
      const status = new BinaryReader(bytes);
      const fields: Record<number, unknown> = {};
      while (status.pos < status.len) {
        const [no] = status.tag();
        fields[no] = no === 1 ? status.int32() : no === 2 ? status.string() : status.bytes();
      }
      assert.equal(fields[1], 5);
      assert.equal(fields[2], 'no such book');
      const any = new BinaryReader(fields[3] as Uint8Array);
      any.tag();
      assert.equal(any.string(), 'type.googleapis.com/portico.test.ErrorDetail');
      any.tag();
      assert.deepEqual(decode('portico.test.ErrorDetail', any.bytes()), {
        reason: 'GONE',
        domain: 'test',
        metadata: { id: '7' },
      });
      return true;
    });
  });

  test('Count streams numbered replies, then fails when asked', async () => {
    const request = encode('portico.test.CountRequest', { count: 3, fail: { code: 14, message: 'went away' } });
    const call = client.makeServerStreamRequest(
      '/portico.test.Echo/Count',
      identity.serialize,
      identity.deserialize,
      request,
    );
    const replies: unknown[] = [];
    call.on('data', (bytes: Uint8Array) => replies.push(decode('portico.test.CountReply', bytes)));
    const error = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    assert.deepEqual(replies, [
      { text: 'message 0' },
      { index: 1, text: 'message 1' },
      { index: 2, text: 'message 2' },
    ]);
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.equal(error.details, 'went away');
  });

  test('Sum adds the streamed values; Chat answers each message in order', async () => {
    const total = await new Promise<Uint8Array>((resolve, reject) => {
      const call = client.makeClientStreamRequest(
        '/portico.test.Echo/Sum',
        identity.serialize,
        identity.deserialize,
        (e, r) => (e ? reject(e) : resolve(r as Uint8Array)),
      );
      for (const value of ['9007199254740993', '7', '-2']) call.write(encode('portico.test.SumRequest', { value }));
      call.end();
    });
    assert.deepEqual(decode('portico.test.SumReply', total), { total: '9007199254740998', count: 3 });

    const chat = client.makeBidiStreamRequest('/portico.test.Echo/Chat', identity.serialize, identity.deserialize);
    const answers: Record<string, unknown>[] = [];
    chat.on('data', (bytes: Uint8Array) => answers.push(decode('portico.test.EchoReply', bytes)));
    const ended = new Promise((resolve) => chat.on('status', resolve));
    chat.write(encode('portico.test.EchoRequest', { message: 'one' }));
    chat.write(encode('portico.test.EchoRequest', { message: 'two' }));
    chat.end();
    await ended;
    assert.deepEqual(
      answers.map((a) => [a.index ?? 0, (a.echo as { message: string }).message]),
      [
        [0, 'one'],
        [1, 'two'],
      ],
    );
  });

  test('Greeter.SayHello answers Hello <name>', async () => {
    const { reply } = await unary(
      '/portico.test.v1.Greeter/SayHello',
      encode('portico.test.v1.HelloRequest', { name: 'Ada' }),
    );
    assert.deepEqual(decode('portico.test.v1.HelloReply', reply), { message: 'Hello Ada' });
  });
});

describe('startGrpcServer with caller implementations', () => {
  test('a given implementation replaces the demo one; an unknown service name is refused', async () => {
    const server = await startGrpcServer({
      reflection: false,
      implementations: {
        'portico.test.v1.Greeter': {
          SayHello: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { message: 'custom' }),
        },
      },
    });
    const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
    try {
      const reply = await new Promise<Uint8Array>((resolve, reject) =>
        client.makeUnaryRequest(
          '/portico.test.v1.Greeter/SayHello',
          identity.serialize,
          identity.deserialize,
          new Uint8Array(),
          (e, r) => (e ? reject(e) : resolve(r as Uint8Array)),
        ),
      );
      // HelloReply { message = 1 } holding "custom".
      assert.deepEqual([...reply], [0x0a, 6, ...Buffer.from('custom')]);
      assert.deepEqual(
        server.calls.map((c) => c.path),
        ['/portico.test.v1.Greeter/SayHello'],
      );
    } finally {
      client.close();
      await server.close();
    }
    await assert.rejects(
      startGrpcServer({ implementations: { 'portico.test.Nope': {} } }),
      /no service "portico\.test\.Nope"/,
    );
  });
});
