/**
 * The grpc-java server peer (e2e/peers/grpc-server), called through @grpc/grpc-js: unary calls, rich error details,
 * a server stream, and server reflection v1 serving library.proto's descriptor with its google.api.http options.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePort, waitUntil } from '../src/index.ts';
import { JAVA_GRPC_SERVER_PROTO_DIR, type JavaGrpcServerPeer, startJavaGrpcServer } from '../src/java-peers.ts';

// google/api/annotations.proto and http.proto as shipped with protobufjs, the parser proto-loader uses.
const require = createRequire(import.meta.url);
const protobufjsDir = dirname(createRequire(require.resolve('@grpc/proto-loader')).resolve('protobufjs/package.json'));
const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void;
type LibraryClient = grpc.Client &
  Record<string, Unary> & { WatchShelf(req: object): grpc.ClientReadableStream<ShelfEvent> };
interface ShelfEvent {
  kind: string;
  book: { name: string; title: string };
}
interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

function clientConstructor(file: string, includeDirs: string[], service: string): grpc.ServiceClientConstructor {
  const loaded = grpc.loadPackageDefinition(loadSync(file, { ...LOAD_OPTIONS, includeDirs }));
  const ctor = service.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], loaded);
  return ctor as grpc.ServiceClientConstructor;
}

const Library = clientConstructor(
  'portico/java/v1/library.proto',
  [JAVA_GRPC_SERVER_PROTO_DIR, protobufjsDir],
  'portico.java.v1.Library',
);
const Reflection = clientConstructor(
  'reflection-v1.proto',
  [join(dirname(fileURLToPath(import.meta.url)), 'protos')],
  'grpc.reflection.v1.ServerReflection',
);

function call(client: LibraryClient, method: string, req: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method](req, (err, res) => (err ? reject(err) : resolve(res ?? {})));
  });
}

function callError(client: LibraryClient, method: string, req: object): Promise<grpc.ServiceError> {
  return call(client, method, req).then(
    (res) => assert.fail(`${method} answered ${JSON.stringify(res)} instead of failing`),
    (err: grpc.ServiceError) => err,
  );
}

/** A protobuf varint, to find a field's tag in serialized bytes. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

let server: JavaGrpcServerPeer;
let library: LibraryClient;

before(async () => {
  server = await startJavaGrpcServer();
  library = new Library(server.address, grpc.credentials.createInsecure()) as unknown as LibraryClient;
});

after(async () => {
  library?.close();
  await server?.close();
});

test('GetBook answers a seeded book: int64 and uint64 as strings, enum names, Timestamp, nested and map fields', async () => {
  const book = await call(library, 'GetBook', { name: 'shelves/1/books/1' });
  assert.equal(book.name, 'shelves/1/books/1');
  assert.equal(book.title, 'The Dispossessed');
  assert.equal(book.page_count, '387');
  assert.equal(book.genre, 'SCIENCE_FICTION');
  assert.deepEqual(book.tags, ['anarchism', 'classic']);
  assert.deepEqual(book.create_time, { seconds: String(Date.parse('2024-01-02T03:04:05Z') / 1000), nanos: 0 });
  assert.deepEqual(book.editions, [{ publisher: 'Harper & Row', year: 1974, isbn: '9780060125639' }]);
  assert.deepEqual(book.labels, { language: 'en' });
  assert.equal(book.rating, 4.5);
  assert.equal(book.available, true);
});

test('a missing book fails NOT_FOUND with a google.rpc.ErrorInfo in grpc-status-details-bin', async () => {
  const err = await callError(library, 'GetBook', { name: 'shelves/1/books/404' });
  assert.equal(err.code, grpc.status.NOT_FOUND);
  assert.equal(err.details, 'book shelves/1/books/404 not found');
  const [details] = err.metadata.get('grpc-status-details-bin');
  assert.ok(Buffer.isBuffer(details), 'grpc-status-details-bin is sent');
  assert.ok(details.includes('type.googleapis.com/google.rpc.ErrorInfo'));
  assert.ok(details.includes('BOOK_NOT_FOUND'));
});

test('Fail answers with the status code asked for', async () => {
  const err = await callError(library, 'Fail', { code: grpc.status.FAILED_PRECONDITION, message: 'not today' });
  assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(err.details, 'not today');
  const [details] = err.metadata.get('grpc-status-details-bin');
  assert.ok(Buffer.isBuffer(details) && details.includes('REQUESTED_FAILURE'));
});

test('WatchShelf streams the shelf as it is, then a book created on it, and ends after max_events', async () => {
  const stream = library.WatchShelf({ shelf: 'shelves/1', max_events: 3 });
  const events: ShelfEvent[] = [];
  stream.on('data', (event: ShelfEvent) => events.push(event));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  await waitUntil('the two EXISTING events', () => events.length === 2);
  assert.deepEqual(
    events.map((e) => [e.kind, e.book.name]),
    [
      ['EXISTING', 'shelves/1/books/1'],
      ['EXISTING', 'shelves/1/books/2'],
    ],
  );
  const created = await call(library, 'CreateBook', {
    parent: 'shelves/1',
    book_id: 'watched',
    book: { title: 'The Name of the Rose', page_count: 536 },
  });
  assert.equal(created.name, 'shelves/1/books/watched');
  await ended;
  assert.deepEqual(events[2] && [events[2].kind, events[2].book.title], ['CREATED', 'The Name of the Rose']);
});

test('reflection v1 serves library.proto with its google.api.http method options', async () => {
  const reflection = new Reflection(server.address, grpc.credentials.createInsecure());
  const stream = reflection.ServerReflectionInfo() as grpc.ClientDuplexStream<object, ReflectionResponse>;
  const answer = new Promise<ReflectionResponse>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  stream.write({ file_containing_symbol: 'portico.java.v1.Library' });
  const response = await answer;
  stream.end();
  reflection.close();

  assert.equal(response.error_response, undefined, JSON.stringify(response.error_response));
  const files = response.file_descriptor_response?.file_descriptor_proto ?? [];
  const libraryFile = files.find((f) => f.includes('portico/java/v1/library.proto'));
  assert.ok(libraryFile, `library.proto is among the ${files.length} files served`);
  assert.ok(
    files.some((f) => f.includes('google/api/http.proto')),
    'the files it imports come along',
  );
  // MethodOptions field 72295728 (google.api.http), length-delimited, right before the rule holding the path.
  const httpOptionTag = varint(72295728 * 8 + 2);
  for (const path of ['/v1/{name=shelves/*/books/*}', '/v1/{parent=shelves/*}/books', '/v1/{shelf=shelves/*}:watch']) {
    const at = libraryFile.indexOf(path);
    assert.ok(at > 0, `the descriptor holds ${path}`);
    const tagAt = libraryFile.lastIndexOf(httpOptionTag, at);
    assert.ok(tagAt >= 0 && at - tagAt < 16, `${path} sits in a google.api.http option`);
  }
});

test('a server started on a chosen port reports it, and close() ends it with a stream still open', async () => {
  const port = await freePort();
  const peer = await startJavaGrpcServer({ port });
  assert.equal(peer.port, port);
  assert.equal(peer.address, `127.0.0.1:${port}`);
  const client = new Library(peer.address, grpc.credentials.createInsecure()) as unknown as LibraryClient;
  const stream = client.WatchShelf({ shelf: 'shelves/2' });
  const existing = await new Promise<ShelfEvent>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  assert.equal(existing.book.name, 'shelves/2/books/1');
  const streamClosed = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('error', () => {});
  await peer.close();
  assert.throws(() => process.kill(peer.pid, 0), { code: 'ESRCH' });
  assert.notEqual((await streamClosed).code, grpc.status.OK);
  client.close();
});
