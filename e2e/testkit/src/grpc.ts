/**
 * A real @grpc/grpc-js server for tests, on 127.0.0.1 port 0, serving the services of .proto files loaded with
 * @grpc/proto-loader (by default e2e/testkit/protos/portico/test/{echo,greeter}.proto), with server reflection
 * (@grpc/reflection: v1 and v1alpha) unless turned off.
 *
 * The demo implementations: Echo.Say answers the request it decoded and the request metadata; Echo.Count streams
 * `count` numbered replies; Echo.Sum adds the streamed values; Echo.Chat answers each message as Say does;
 * Echo.Ping answers Empty; Greeter.SayHello answers "Hello <name>". Test switches in the requests: `fail` ends
 * the call with that status code, message and `grpc-status-details-bin` (a google.rpc.Status whose details are
 * portico.test.ErrorDetail Anys); `delay_ms` waits first; `reply_headers` / `reply_trailers` are sent back as
 * response metadata and trailers.
 *
 * Messages are loaded with proto field names (keepCase), 64-bit integers and enums as strings. Say and Chat put
 * the request's own bytes in the reply's `echo` field, so the echo is exact whatever protobufjs would make of it
 * (it reads int64 map keys back as other numbers, for one).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { TESTKIT_PROTOS_DIR } from './protos.ts';

export const GRPC_DEMO_PROTO_FILES: readonly string[] = ['portico/test/echo.proto', 'portico/test/greeter.proto'];

export const GRPC_PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

export interface StartGrpcServerOptions {
  /** Where the .proto files are, and which to load (relative to `dir`). Default: the demo protos of the test kit. */
  protos?: { dir: string; files: readonly string[] };
  /** Server reflection: true (v1 and v1alpha, the default), false (none), or only 'v1' or only 'v1alpha'. */
  reflection?: boolean | 'v1' | 'v1alpha';
  /** Implementations by full service name (`portico.test.Echo`); services not named get the demo one, if any. */
  implementations?: Record<string, grpc.UntypedServiceImplementation>;
  /** Default 0 (any free port). */
  port?: number;
}

/** One call the server received. */
export interface GrpcCallRecord {
  /** `/pkg.Service/Method`. */
  path: string;
  metadata: grpc.Metadata;
  /** Set when the client cancelled the call or its deadline passed. */
  cancelled: boolean;
}

export interface GrpcTestServer {
  port: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  server: grpc.Server;
  packageDefinition: protoLoader.PackageDefinition;
  /** Every call received so far, in arrival order. */
  calls: GrpcCallRecord[];
  close(): Promise<void>;
}

export async function startGrpcServer(opts: StartGrpcServerOptions = {}): Promise<GrpcTestServer> {
  const protos = opts.protos ?? { dir: TESTKIT_PROTOS_DIR, files: GRPC_DEMO_PROTO_FILES };
  const packageDefinition = protoLoader.loadSync([...protos.files], {
    ...GRPC_PROTO_LOADER_OPTIONS,
    includeDirs: [protos.dir, TESTKIT_PROTOS_DIR],
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  const implementations = { ...DEMO_IMPLEMENTATIONS, ...opts.implementations };
  const services = serviceDefinitions(packageDefinition, loaded);
  for (const name of Object.keys(opts.implementations ?? {})) {
    if (!services.has(name)) throw new Error(`startGrpcServer: no service "${name}" in ${protos.files.join(', ')}`);
  }

  const server = new grpc.Server();
  const calls: GrpcCallRecord[] = [];
  for (const [name, definition] of services) {
    const implementation = implementations[name];
    if (implementation !== undefined) server.addService(withRawEcho(definition), recorded(implementation, calls));
  }
  const reflection = opts.reflection ?? true;
  if (reflection !== false) {
    const service = new ReflectionService(packageDefinition);
    if (reflection === true) service.addToServer(server);
    else {
      const only = `/grpc.reflection.${reflection}.`;
      service.addToServer({
        addService: (definition, implementation) => {
          const paths = Object.values(definition).map((method) => method.path);
          if (paths.every((path) => path.startsWith(only))) server.addService(definition, implementation);
        },
      });
    }
  }

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    server,
    packageDefinition,
    calls,
    close: async () => {
      server.forceShutdown();
    },
  };
}

function serviceDefinitions(
  packageDefinition: protoLoader.PackageDefinition,
  loaded: grpc.GrpcObject,
): Map<string, grpc.ServiceDefinition> {
  const services = new Map<string, grpc.ServiceDefinition>();
  for (const name of Object.keys(packageDefinition)) {
    let node: unknown = loaded;
    for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
    const service = (node as { service?: grpc.ServiceDefinition }).service;
    if (typeof node === 'function' && service !== undefined) services.set(name, service);
  }
  return services;
}

/** Request bytes, attached to each decoded request object. */
const REQUEST_BYTES = Symbol('request bytes');
/** On a reply object: bytes to send as its field 1 (EchoReply.echo) instead of a re-encoded object. */
const ECHO_BYTES = Symbol('echo bytes');

function withRawEcho(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const wrapped: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        const value = method.requestDeserialize(bytes);
        if (value !== null && typeof value === 'object') Object.defineProperty(value, REQUEST_BYTES, { value: bytes });
        return value;
      },
      responseSerialize: (value: unknown) => {
        const echo = (value as { [ECHO_BYTES]?: Buffer } | null)?.[ECHO_BYTES];
        const encoded = method.responseSerialize(value);
        return echo === undefined ? encoded : Buffer.concat([encoded, bytesField(1, echo, true)]);
      },
    };
  }
  return wrapped as grpc.ServiceDefinition;
}

/** What every kind of server call has (grpc-js does not export its ServerSurfaceCall type). */
type AnyServerCall = grpc.ServerUnaryCall<unknown, unknown>;

function echoReply(request: EchoRequest, call: { metadata: grpc.Metadata }, index: number): object {
  return { metadata: metadataRecord(call.metadata), index, [ECHO_BYTES]: request[REQUEST_BYTES] ?? Buffer.alloc(0) };
}

function recorded(
  implementation: grpc.UntypedServiceImplementation,
  calls: GrpcCallRecord[],
): grpc.UntypedServiceImplementation {
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    wrapped[method] = ((call: AnyServerCall, callback?: grpc.sendUnaryData<unknown>) => {
      const record: GrpcCallRecord = { path: call.getPath(), metadata: call.metadata, cancelled: false };
      calls.push(record);
      call.on('cancelled', () => {
        record.cancelled = true;
      });
      (handler as (call: AnyServerCall, callback?: grpc.sendUnaryData<unknown>) => void)(call, callback);
    }) as grpc.UntypedHandleCall;
  }
  return wrapped;
}

// ---- demo implementations ----

interface Failure {
  code?: number;
  message?: string;
  details?: { reason?: string; domain?: string; metadata?: Record<string, string> }[];
}

interface EchoRequest {
  fail?: Failure;
  delay_ms?: number;
  reply_headers?: Record<string, string>;
  reply_trailers?: Record<string, string>;
  [REQUEST_BYTES]?: Buffer;
}

const DEMO_IMPLEMENTATIONS: Record<string, grpc.UntypedServiceImplementation> = {
  'portico.test.Echo': {
    Say: async (call: grpc.ServerUnaryCall<EchoRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const request = call.request;
      await sleep(request.delay_ms);
      if (call.cancelled) return;
      if (request.fail) return callback(statusError(request.fail));
      if (request.reply_headers) call.sendMetadata(toMetadata(request.reply_headers));
      callback(
        null,
        echoReply(request, call, 0),
        request.reply_trailers ? toMetadata(request.reply_trailers) : undefined,
      );
    },
    Count: async (
      call: grpc.ServerWritableStream<{ count?: number; interval_ms?: number; fail?: Failure }, unknown>,
    ) => {
      const { count = 0, interval_ms, fail } = call.request;
      for (let index = 0; index < count; index++) {
        await sleep(interval_ms);
        if (call.cancelled) return;
        if (!call.write({ index, text: `message ${index}` }))
          await new Promise((resolve) => call.once('drain', resolve));
      }
      if (call.cancelled) return;
      if (fail) call.emit('error', statusError(fail));
      else call.end();
    },
    Sum: (
      call: grpc.ServerReadableStream<{ value?: string; fail?: Failure }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      let total = 0n;
      let count = 0;
      let failed = false;
      call.on('data', (message: { value?: string; fail?: Failure }) => {
        if (failed) return;
        if (message.fail) {
          failed = true;
          return callback(statusError(message.fail));
        }
        total += BigInt(message.value ?? 0);
        count++;
      });
      call.on('end', () => {
        if (!failed) callback(null, { total: total.toString(), count });
      });
    },
    Chat: (call: grpc.ServerDuplexStream<EchoRequest, unknown>) => {
      let index = 0;
      let failed = false;
      call.on('data', (request: EchoRequest) => {
        if (failed) return;
        if (request.fail) {
          failed = true;
          return void call.emit('error', statusError(request.fail));
        }
        call.write(echoReply(request, call, index++));
      });
      call.on('end', () => {
        if (!failed) call.end();
      });
    },
    Ping: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, {}),
  },
  'portico.test.v1.Greeter': {
    SayHello: (call: grpc.ServerUnaryCall<{ name?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { message: `Hello ${call.request.name ?? ''}` }),
  },
};

function sleep(ms: number | undefined): Promise<void> {
  return ms ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function toMetadata(values: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(values)) {
    if (key.endsWith('-bin')) metadata.add(key, Buffer.from(value, 'base64'));
    else metadata.add(key, value);
  }
  return metadata;
}

/** Text values as they are, binary (-bin) ones base64; repeated keys joined with ", ". */
function metadataRecord(metadata: grpc.Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  for (const key of Object.keys(metadata.getMap())) {
    record[key] = metadata
      .get(key)
      .map((value) => (typeof value === 'string' ? value : value.toString('base64')))
      .join(', ');
  }
  return record;
}

function statusError(fail: Failure): Partial<grpc.StatusObject> {
  const code = fail.code ?? grpc.status.UNKNOWN;
  const message = fail.message ?? '';
  const metadata = new grpc.Metadata();
  const details = (fail.details ?? []).map((detail) => ({
    typeUrl: 'type.googleapis.com/portico.test.ErrorDetail',
    value: encodeErrorDetail(detail),
  }));
  metadata.set('grpc-status-details-bin', encodeRpcStatus(code, message, details));
  return { code, details: message, metadata };
}

// google.rpc.Status {code=1, message=2, details=3 Any {type_url=1, value=2}} and portico.test.ErrorDetail
// {reason=1, domain=2, metadata=3 map<string,string>}, encoded by hand: the test kit carries no protobuf runtime.

function encodeRpcStatus(code: number, message: string, details: { typeUrl: string; value: Buffer }[]): Buffer {
  return Buffer.concat([
    varintField(1, code),
    bytesField(2, Buffer.from(message)),
    ...details.map((any) =>
      bytesField(3, Buffer.concat([bytesField(1, Buffer.from(any.typeUrl)), bytesField(2, any.value)])),
    ),
  ]);
}

function encodeErrorDetail(detail: NonNullable<Failure['details']>[number]): Buffer {
  return Buffer.concat([
    bytesField(1, Buffer.from(detail.reason ?? '')),
    bytesField(2, Buffer.from(detail.domain ?? '')),
    ...Object.entries(detail.metadata ?? {}).map(([key, value]) =>
      bytesField(3, Buffer.concat([bytesField(1, Buffer.from(key)), bytesField(2, Buffer.from(value))])),
    ),
  ]);
}

function varintField(field: number, value: number): Buffer {
  return value === 0 ? Buffer.alloc(0) : Buffer.concat([varint(field << 3), varint(value)]);
}

/** A length-delimited field; an empty one is left out unless `always` (an empty message still marks presence). */
function bytesField(field: number, value: Buffer, always = false): Buffer {
  if (value.length === 0 && !always) return Buffer.alloc(0);
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}

/** Non-negative values only (field tags, lengths, status codes 0..16). */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
