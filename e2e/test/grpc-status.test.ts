/**
 * gRPC statuses through `portico standalone` with a real grpc-js client and server: every answer (OK, a
 * trailers-only error, an error with custom trailing metadata, a stream failing after messages) must reach the
 * client through the proxy exactly as it does straight from the server. A trailers-only answer (one HEADERS frame
 * with grpc-status and END_STREAM) must stay one frame: split into HEADERS + an empty DATA, clients lose the status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type PorticoProcess, selfSignedCertificate, startPortico } from '@portico/testkit';

const SERVICE = 'portico.test.Probe';
const TLS_NAME = 'grpc.example.com';

// Raw bytes on the wire: no proto files, the messages are the payloads themselves.
const identity = (b: Buffer): Buffer => b;
const bytes = { requestSerialize: identity, requestDeserialize: identity };
const definition = {
  Unary: {
    path: `/${SERVICE}/Unary`,
    requestStream: false,
    responseStream: false,
    ...bytes,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  Stream: {
    path: `/${SERVICE}/Stream`,
    requestStream: false,
    responseStream: true,
    ...bytes,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

const Client = grpc.makeGenericClientConstructor(definition, SERVICE);

/** The unary method's behaviour is named by its request payload. */
const unary: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
  const what = call.request.toString();
  if (what === 'ok') {
    const trailer = new grpc.Metadata();
    trailer.set('x-served-by', 'probe');
    return callback(null, Buffer.from('pong'), trailer);
  }
  if (what === 'not-found') return callback({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
  if (what === 'denied') {
    const metadata = new grpc.Metadata();
    metadata.set('x-reason', 'quota');
    metadata.add('x-reason', 'weekend');
    metadata.set('x-trace-bin', Buffer.from([0, 1, 2, 254, 255]));
    // Percent-encoded on the wire as grpc-message: the proxy must pass it through untouched.
    return callback({ code: grpc.status.PERMISSION_DENIED, details: 'refusé: 100% sûr', metadata });
  }
  callback({ code: grpc.status.INVALID_ARGUMENT, details: `unknown case ${what}` });
};

const stream: grpc.handleServerStreamingCall<Buffer, Buffer> = (call) => {
  call.write(Buffer.from('one'));
  call.write(Buffer.from('two'));
  call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'out of tokens' });
};

interface Outcome {
  code: number;
  details: string;
  metadata: Record<string, unknown>;
  messages: string[];
}

/**
 * Trailing metadata as compared: `date` differs by the clock, and in a trailers-only answer the head is the trailers,
 * so the proxy's own x-request-id is trailing metadata too.
 */
const NOT_COMPARED = new Set(['date', 'x-request-id']);

function plain(metadata: grpc.Metadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (!NOT_COMPARED.has(key)) out[key] = values.map((v) => (Buffer.isBuffer(v) ? `bin:${v.toString('hex')}` : v));
  }
  return out;
}

function deadline(): Date {
  return new Date(Date.now() + 5_000);
}

function callUnary(client: grpc.Client, payload: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    const call = client.makeUnaryRequest<Buffer, Buffer>(
      definition.Unary.path,
      identity,
      identity,
      Buffer.from(payload),
      new grpc.Metadata(),
      { deadline: deadline() },
      (_err, value) => {
        if (value !== undefined) messages.push(value.toString());
      },
    );
    // 'status' comes after the callback for successes and failures alike, with the trailing metadata.
    call.on('status', (s: grpc.StatusObject) =>
      setImmediate(() => resolve({ code: s.code, details: s.details, metadata: plain(s.metadata), messages })),
    );
  });
}

function callStream(client: grpc.Client, payload: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    const call = client.makeServerStreamRequest<Buffer, Buffer>(
      definition.Stream.path,
      identity,
      identity,
      Buffer.from(payload),
      new grpc.Metadata(),
      { deadline: deadline() },
    );
    call.on('data', (m: Buffer) => messages.push(m.toString()));
    call.on('error', () => {}); // the status below says it all
    call.on('status', (s: grpc.StatusObject) =>
      resolve({ code: s.code, details: s.details, metadata: plain(s.metadata), messages }),
    );
  });
}

let server: grpc.Server;
let portico: PorticoProcess;
let direct: grpc.Client, viaH2c: grpc.Client, viaTls: grpc.Client;

before(async () => {
  server = new grpc.Server();
  server.addService(definition, { Unary: unary, Stream: stream });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const tls = selfSignedCertificate(TLS_NAME);
  portico = await startPortico({
    args: ['--log-level', 'warn', '--tls-port', '0'],
    config: `apiVersion: portico.dev/v1
kind: Service
metadata: {name: probe}
spec: {protocol: grpc, endpoints: [{address: 127.0.0.1, port: ${port}}]}
---
apiVersion: portico.dev/v1
kind: Certificate
metadata: {name: grpc}
spec:
  hostnames: [${TLS_NAME}]
  certificate: {file: ${tls.certFile}}
  privateKey: {file: ${tls.keyFile}}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: probe}
spec:
  rules:
    - matches: [{path: {type: PathPrefix, value: /${SERVICE}}}]
      backendRefs: [{name: probe}]
`,
  });
  assert.ok(portico.tlsPort, 'tls port announced');
  const insecure = grpc.credentials.createInsecure();
  direct = new Client(`127.0.0.1:${port}`, insecure);
  viaH2c = new Client(`127.0.0.1:${portico.proxyPort}`, insecure);
  viaTls = new Client(`127.0.0.1:${portico.tlsPort}`, grpc.credentials.createSsl(Buffer.from(tls.cert)), {
    // SNI and the certificate name check both use this name.
    'grpc.ssl_target_name_override': TLS_NAME,
    'grpc.default_authority': TLS_NAME,
  });
});

after(async () => {
  for (const c of [direct, viaH2c, viaTls]) c?.close();
  await portico?.stop();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

const cases: { name: string; call: (c: grpc.Client) => Promise<Outcome>; expect: Partial<Outcome> }[] = [
  {
    name: 'OK with a payload and trailing metadata',
    call: (c) => callUnary(c, 'ok'),
    expect: { code: grpc.status.OK, messages: ['pong'] },
  },
  {
    name: 'NOT_FOUND as a trailers-only answer',
    call: (c) => callUnary(c, 'not-found'),
    expect: { code: grpc.status.NOT_FOUND, details: 'no such thing', messages: [] },
  },
  {
    name: 'PERMISSION_DENIED with custom (and binary) trailing metadata and an encoded message',
    call: (c) => callUnary(c, 'denied'),
    expect: { code: grpc.status.PERMISSION_DENIED, details: 'refusé: 100% sûr', messages: [] },
  },
  {
    name: 'a server stream that fails with RESOURCE_EXHAUSTED after two messages',
    call: (c) => callStream(c, 'go'),
    expect: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'out of tokens', messages: ['one', 'two'] },
  },
];

for (const [transport, client] of [
  ['h2c', () => viaH2c],
  ['TLS', () => viaTls],
] as const) {
  describe(`gRPC statuses through the proxy over ${transport}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const [straight, proxied] = await Promise.all([c.call(direct), c.call(client())]);
        // The server itself answers as this case means to, so the comparison below is about something.
        for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(straight[key as keyof Outcome], value);
        assert.deepEqual(proxied, straight);
      });
    }
  });
}

test('the trailing metadata compared is really there', async () => {
  assert.deepEqual((await callUnary(viaH2c, 'ok')).metadata['x-served-by'], ['probe']);
  const denied = await callUnary(viaH2c, 'denied');
  assert.deepEqual(denied.metadata['x-reason'], ['quota, weekend']);
  assert.deepEqual(denied.metadata['x-trace-bin'], ['bin:000102feff']);
});
