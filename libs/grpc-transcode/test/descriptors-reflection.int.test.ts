/**
 * loadReflection against real grpc-js servers: the test kit's server (@grpc/reflection, v1 and v1alpha), the
 * same server with only v1alpha, with reflection off, a dead port, a TCP peer that never answers, and a
 * reflection server written here that serves buf-compiled descriptors the way grpc-java and grpc-go do (each file
 * as protoc wrote it, imports fetched one by one with file_by_filename).
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type DescMessage,
  type FileRegistry,
  fromBinary,
  fromJson,
  getExtension,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import {
  freePort,
  type GrpcTestServer,
  protoDescriptorSet,
  startGrpcServer,
  TESTKIT_PROTOS_DIR,
  waitUntil,
} from '@portico/testkit';
import { ServiceCatalog } from '../src/descriptors/catalog.ts';
import { registryFromDescriptorSet } from '../src/descriptors/descriptor-set.ts';
import { GrpcDescriptorOptionError, GrpcReflectionError } from '../src/descriptors/errors.ts';
import { loadReflection } from '../src/descriptors/reflection.ts';

const DEMO_FILES = ['portico/test/echo.proto', 'portico/test/greeter.proto'];
const HTTP_RULE_FIELD = 72295728;

let compiled: Uint8Array;
before(async () => {
  compiled = await protoDescriptorSet(TESTKIT_PROTOS_DIR, DEMO_FILES);
});

/** Every message and enum the server's proto-loader package definition knows (the server's own view). */
function typeNamesOf(server: GrpcTestServer): string[] {
  return Object.entries(server.packageDefinition)
    .filter(([, def]) => 'format' in def && (def.format as string).startsWith('Protocol Buffer 3'))
    .map(([name]) => name);
}

/** name, number, kind, JSON name and element type of every field, to compare two registries. */
function shape(message: DescMessage): string[] {
  return message.fields.map((f) => {
    const type = f.message?.typeName ?? f.enum?.typeName ?? String(f.scalar ?? '');
    const mapValue =
      f.fieldKind === 'map' ? `->${f.mapKind}:${f.message?.typeName ?? f.enum?.typeName ?? f.scalar}` : '';
    return `${f.number} ${f.name} ${f.jsonName} ${f.fieldKind} ${type}${mapValue} ${f.oneof?.name ?? ''}`;
  });
}

function unaryRaw(address: string, path: string, request: Uint8Array): Promise<Uint8Array> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Uint8Array>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => new Uint8Array(bytes),
      request,
      (error, reply) => (error ? reject(error) : resolve(reply as Uint8Array)),
    );
  }).finally(() => client.close());
}

describe('loadReflection over reflection v1 (test kit server)', () => {
  let server: GrpcTestServer;
  let registry: FileRegistry;
  before(async () => {
    server = await startGrpcServer({ reflection: 'v1' });
    registry = await loadReflection({ host: '127.0.0.1', port: server.port });
  });
  after(() => server.close());

  test('every service and method, with its streaming kind', () => {
    const catalog = new ServiceCatalog(registry);
    assert.deepEqual(
      catalog
        .services()
        .map((s) => s.typeName)
        .sort(),
      ['portico.test.Echo', 'portico.test.v1.Greeter'],
    );
    const kinds = Object.fromEntries(
      catalog.services().flatMap((s) => s.methods.map((m) => [`${s.typeName}/${m.name}`, m.methodKind])),
    );
    assert.deepEqual(kinds, {
      'portico.test.Echo/Say': 'unary',
      'portico.test.Echo/Count': 'server_streaming',
      'portico.test.Echo/Sum': 'client_streaming',
      'portico.test.Echo/Chat': 'bidi_streaming',
      'portico.test.Echo/Ping': 'unary',
      'portico.test.v1.Greeter/SayHello': 'unary',
    });
    assert.equal(catalog.method('/portico.test.Echo/Ping')?.input.typeName, 'google.protobuf.Empty');
  });

  test('every message and enum the server knows is reachable, well-known types included', () => {
    const names = typeNamesOf(server);
    assert.ok(names.includes('google.protobuf.Timestamp') && names.includes('portico.test.Mood'), names.join());
    const missing = names.filter((name) => registry.get(name) === undefined);
    assert.deepEqual(missing, []);
    const wellKnown = registry.getMessage('portico.test.WellKnown');
    assert.equal(wellKnown?.field.timestamp.message?.typeName, 'google.protobuf.Timestamp');
    assert.equal(wellKnown?.field.struct.message?.typeName, 'google.protobuf.Struct');
    const echoFile = registry.getMessage('portico.test.EchoRequest')?.file;
    const timestampFile = registry.getMessage('google.protobuf.Timestamp')?.file;
    assert.ok(echoFile?.dependencies.includes(timestampFile as never), 'the echo file imports the timestamp file');
  });

  test('fields match the buf-compiled descriptors: names, numbers, JSON names, types, maps, oneofs', () => {
    const reference = registryFromDescriptorSet(compiled);
    for (const desc of reference) {
      if (desc.kind !== 'message' || !desc.typeName.startsWith('portico.')) continue;
      const reflected = registry.getMessage(desc.typeName);
      assert.ok(reflected, desc.typeName);
      assert.deepEqual(shape(reflected), shape(desc), desc.typeName);
    }
  });

  test('messages encoded with the reflected descriptors round-trip through the server', async () => {
    const request = registry.getMessage('portico.test.EchoRequest');
    const reply = registry.getMessage('portico.test.EchoReply');
    assert.ok(request && reply);
    const json = {
      message: 'hi',
      scalars: {
        fInt64: '-9007199254740993',
        fUint64: '18446744073709551615',
        fBytes: 'AQID',
        fBool: true,
        fDouble: 1.5,
      },
      wellKnown: {
        timestamp: '2024-05-01T12:00:00.500Z',
        duration: '3.500s',
        int64Value: '42',
        struct: { a: [1, 'two', null, { b: false }] },
        fieldMask: 'a.b,c',
        empty: {},
      },
      mood: 'MOOD_GRUMPY',
      labels: { k: 'v' },
      byId: { '7': { name: 'seven', moods: ['MOOD_HAPPY'] } },
      picked: { name: 'chosen' },
    };
    const bytes = toBinary(request, fromJson(request, json, { registry }));
    const answer = fromBinary(reply, await unaryRaw(server.address, '/portico.test.Echo/Say', bytes));
    assert.deepEqual(toJson(request, (answer as unknown as { echo: never }).echo, { registry }), json);
  });
});

describe('loadReflection falls back to v1alpha', () => {
  test('a server that serves only v1alpha gives the same services', async () => {
    const server = await startGrpcServer({ reflection: 'v1alpha' });
    try {
      // The server really has no v1: the raw call is UNIMPLEMENTED.
      await assert.rejects(
        unaryRaw(server.address, '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', new Uint8Array()),
        (error: grpc.ServiceError) => error.code === grpc.status.UNIMPLEMENTED,
      );
      const registry = await loadReflection({ host: '127.0.0.1', port: server.port });
      const names = new ServiceCatalog(registry)
        .services()
        .map((s) => s.typeName)
        .sort();
      assert.deepEqual(names, ['portico.test.Echo', 'portico.test.v1.Greeter']);
      assert.ok(registry.getMessage('portico.test.WellKnown'));
    } finally {
      await server.close();
    }
  });
});

describe('loadReflection failures', () => {
  test('reflection off: a 502 error naming the address', async () => {
    const server = await startGrpcServer({ reflection: false });
    try {
      await assert.rejects(loadReflection({ host: '127.0.0.1', port: server.port }), (error: unknown) => {
        assert.ok(error instanceof GrpcReflectionError);
        assert.equal(error.code, 'PORTICO_ERR_GRPC_REFLECTION');
        assert.equal(error.status, 502);
        assert.equal(error.grpcCode, grpc.status.UNIMPLEMENTED);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}: server reflection is not served`));
        return true;
      });
    } finally {
      await server.close();
    }
  });

  test('a dead port: UNAVAILABLE at once, naming the address', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(loadReflection({ host: '127.0.0.1', port }), (error: unknown) => {
      assert.ok(error instanceof GrpcReflectionError);
      assert.equal(error.grpcCode, grpc.status.UNAVAILABLE);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: reflection v1 call failed: UNAVAILABLE`));
      return true;
    });
    assert.ok(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms`);
  });

  test('a TCP peer that never speaks HTTP/2: the timeout fails the load', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      await assert.rejects(loadReflection({ host: '127.0.0.1', port }, { timeoutMs: 300 }), (error: unknown) => {
        assert.ok(error instanceof GrpcReflectionError);
        assert.equal(error.grpcCode, grpc.status.DEADLINE_EXCEEDED);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: no complete answer within 300 ms`));
        return true;
      });
      assert.ok(Date.now() - started < 1_500, `failed after ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('a reflection service that never answers: the timeout cancels the stream', async () => {
    const server = new grpc.Server();
    const streams: grpc.ServerDuplexStream<Uint8Array, Uint8Array>[] = [];
    server.addService(rawReflectionDefinition('v1'), {
      ServerReflectionInfo: (call: grpc.ServerDuplexStream<Uint8Array, Uint8Array>) => void streams.push(call),
    });
    const port = await bind(server);
    try {
      await assert.rejects(
        loadReflection({ host: '127.0.0.1', port }, { timeoutMs: 300 }),
        /no complete answer within 300 ms/,
      );
      assert.equal(streams.length, 1);
      await waitUntil('the server saw the stream cancelled', () => streams[0]?.cancelled, { timeoutMs: 2_000 });
    } finally {
      server.forceShutdown();
    }
  });

  test('options are checked first', async () => {
    await assert.rejects(loadReflection({ host: '127.0.0.1', port: 1 }, { timeoutMs: 0 }), GrpcDescriptorOptionError);
    await assert.rejects(loadReflection({ host: '127.0.0.1', port: 70_000 }), GrpcDescriptorOptionError);
    await assert.rejects(loadReflection({ host: '', port: 80 }), GrpcDescriptorOptionError);
  });
});

/**
 * A reflection v1 server as grpc-java and grpc-go answer: file_containing_symbol gives the one file that defines
 * the symbol, as protoc wrote it (options kept); the client asks for each import by file_by_filename.
 */
async function startProtocStyleReflection(
  set: Uint8Array,
  extraServices: string[] = [],
): Promise<{ port: number; asked: string[]; close(): void }> {
  const files = fromBinary(FileDescriptorSetSchema, set).file;
  const raw = new Map(files.map((file) => [file.name, toBinary(FileDescriptorProtoSchema, file)]));
  const listed = [...files.flatMap((file) => file.service.map((s) => `${file.package}.${s.name}`)), ...extraServices];
  const symbolFile = (symbol: string) =>
    files.find((file) => file.service.some((s) => `${file.package}.${s.name}` === symbol))?.name;
  const asked: string[] = [];
  const server = new grpc.Server();
  server.addService(rawReflectionDefinition('v1'), {
    ServerReflectionInfo: (call: grpc.ServerDuplexStream<Uint8Array, Uint8Array>) => {
      call.on('data', (request: Uint8Array) => {
        const reader = new BinaryReader(request);
        const writer = new BinaryWriter();
        const [field] = reader.tag();
        const value = reader.string();
        asked.push(`${field}:${value}`);
        const fileName = field === 4 ? symbolFile(value) : field === 3 ? value : undefined;
        if (field === 7) {
          writer.tag(6, WireType.LengthDelimited).fork();
          for (const name of listed)
            writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(name).join();
          writer.join();
        } else if (fileName !== undefined && raw.has(fileName)) {
          writer
            .tag(4, WireType.LengthDelimited)
            .fork()
            .tag(1, WireType.LengthDelimited)
            .bytes(raw.get(fileName) as Uint8Array)
            .join();
        } else {
          writer
            .tag(7, WireType.LengthDelimited)
            .fork()
            .tag(1, WireType.Varint)
            .int32(grpc.status.NOT_FOUND)
            .tag(2, WireType.LengthDelimited)
            .string(`not found: ${value}`)
            .join();
        }
        call.write(writer.finish());
      });
      call.on('end', () => call.end());
    },
  });
  return { port: await bind(server), asked, close: () => server.forceShutdown() };
}

/** ServerReflectionInfo with raw bytes in and out, for reflection servers written in a test. */
function rawReflectionDefinition(version: 'v1' | 'v1alpha'): grpc.ServiceDefinition {
  return {
    ServerReflectionInfo: {
      path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (b: Uint8Array) => Buffer.from(b),
      requestDeserialize: (b: Buffer) => new Uint8Array(b),
      responseSerialize: (b: Uint8Array) => Buffer.from(b),
      responseDeserialize: (b: Buffer) => new Uint8Array(b),
      originalName: 'serverReflectionInfo',
    },
  };
}

function bind(server: grpc.Server): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
}

describe('loadReflection against protoc-style descriptors', () => {
  test('imports are fetched by file name and method options are kept', async () => {
    const peer = await startProtocStyleReflection(compiled);
    try {
      const registry = await loadReflection({ host: '127.0.0.1', port: peer.port });
      assert.ok(peer.asked.includes('3:google/protobuf/timestamp.proto'), peer.asked.join());
      assert.ok(peer.asked.includes('3:google/api/annotations.proto'), peer.asked.join());
      assert.ok(registry.getFile('google/protobuf/timestamp.proto'));
      const sayHello = new ServiceCatalog(registry).method('/portico.test.v1.Greeter/SayHello');
      const http = registry.getExtension('google.api.http');
      assert.ok(sayHello?.proto.options && http);
      const rule = getExtension(sayHello.proto.options, http) as unknown as {
        pattern: { case: string; value: string };
      };
      assert.deepEqual(rule.pattern, { case: 'get', value: '/v1/greet/{name}' });
      assert.ok(sayHello.proto.options.$unknown?.some((u) => u.no === HTTP_RULE_FIELD));
    } finally {
      peer.close();
    }
  });

  test('a listed service the server cannot find: the error names the symbol', async () => {
    const peer = await startProtocStyleReflection(compiled, ['portico.test.Gone']);
    try {
      await assert.rejects(loadReflection({ host: '127.0.0.1', port: peer.port }), (error: unknown) => {
        assert.ok(error instanceof GrpcReflectionError);
        assert.equal(error.grpcCode, grpc.status.NOT_FOUND);
        assert.match(error.message, /file_containing_symbol "portico\.test\.Gone" failed: NOT_FOUND/);
        return true;
      });
    } finally {
      peer.close();
    }
  });

  test('an import the server does not have: the error names the file', async () => {
    const set = fromBinary(FileDescriptorSetSchema, compiled);
    set.file = set.file.filter((file) => file.name !== 'google/protobuf/duration.proto');
    const peer = await startProtocStyleReflection(toBinary(FileDescriptorSetSchema, set));
    try {
      await assert.rejects(
        loadReflection({ host: '127.0.0.1', port: peer.port }),
        /file_by_filename "google\/protobuf\/duration\.proto" failed: NOT_FOUND/,
      );
    } finally {
      peer.close();
    }
  });
});
