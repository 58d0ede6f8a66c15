/**
 * Loads a gRPC server's descriptors over server reflection, speaking the protocol directly over @grpc/grpc-js:
 * one bidi stream on grpc.reflection.v1 (grpc.reflection.v1alpha when v1 answers UNIMPLEMENTED), asking
 * list_services, then file_containing_symbol per service, then file_by_filename for every import not yet
 * received. Requests are pipelined: the protocol answers them in order on the one stream.
 */
import { type FileRegistry, fromBinary } from '@bufbuild/protobuf';
import { type FileDescriptorProto, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { GrpcDescriptorOptionError, GrpcReflectionError } from './errors.ts';
import { LinkError, registryFromFiles } from './link-files.ts';
import {
  decodeReflectionResponse,
  encodeReflectionRequest,
  type ReflectionRequest,
  type ReflectionResponse,
} from './reflection-wire.ts';

export interface ReflectionTarget {
  host: string;
  port: number;
}

export interface LoadReflectionOptions {
  /** Bound on the whole exchange, both versions included. Default 5 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const VERSIONS = ['v1', 'v1alpha'] as const;
/** Descriptor sets of large services exceed grpc-js's 4 MiB default. */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export async function loadReflection(
  target: ReflectionTarget,
  opts: LoadReflectionOptions = {},
): Promise<FileRegistry> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new GrpcDescriptorOptionError('timeoutMs', 'must be a positive number');
  if (typeof target.host !== 'string' || target.host === '')
    throw new GrpcDescriptorOptionError('host', 'must be a non-empty string');
  if (!Number.isInteger(target.port) || target.port <= 0 || target.port > 65_535)
    throw new GrpcDescriptorOptionError('port', 'must be an integer from 1 to 65535');

  const address = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const deadline = Date.now() + timeoutMs;
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    // Its own subchannels, so close() shuts its connections down at once instead of leaving them to the shared pool.
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    const files = await filesOverEitherVersion(client, address, deadline, timeoutMs);
    try {
      return registryFromFiles(files);
    } catch (error) {
      if (!(error instanceof LinkError)) throw error;
      throw new GrpcReflectionError(address, `the descriptors served do not form a complete set: ${error.message}`, {
        cause: error,
      });
    }
  } finally {
    client.close();
  }
}

async function filesOverEitherVersion(
  client: grpc.Client,
  address: string,
  deadline: number,
  timeoutMs: number,
): Promise<FileDescriptorProto[]> {
  for (const version of VERSIONS) {
    const stream = new ReflectionStream(client, version, deadline);
    try {
      return await collectFiles(stream, address);
    } catch (error) {
      const code = (error as Partial<grpc.ServiceError>).code;
      if (code === grpc.status.UNIMPLEMENTED && version === 'v1') continue;
      if (error instanceof GrpcReflectionError) throw error;
      throw callError(address, version, error, timeoutMs);
    } finally {
      stream.close();
    }
  }
  throw new Error('unreachable: the v1alpha attempt returns or throws');
}

async function collectFiles(stream: ReflectionStream, address: string): Promise<FileDescriptorProto[]> {
  const listed = await stream.ask({ kind: 'listServices' });
  if (listed.kind === 'error') throw answerError(address, 'list_services', listed);
  if (listed.kind !== 'listServices')
    throw new GrpcReflectionError(address, 'list_services got an answer of another kind');
  const services = listed.services.filter((name) => !name.startsWith('grpc.reflection.'));

  const files = new Map<string, FileDescriptorProto>();
  /** Sends the requests at once (answers come in order) and keeps every file of every answer. */
  const fetch = async (requests: { asked: string; request: ReflectionRequest }[]) => {
    const answers = await Promise.all(requests.map(({ request }) => stream.ask(request)));
    for (const [i, answer] of answers.entries()) {
      const asked = requests[i]?.asked ?? '';
      if (answer.kind === 'error') throw answerError(address, asked, answer);
      if (answer.kind !== 'files') throw new GrpcReflectionError(address, `${asked} got an answer of another kind`);
      for (const bytes of answer.files) {
        const file = decodeFile(address, asked, bytes);
        if (!files.has(file.name)) files.set(file.name, file);
      }
    }
  };
  await fetch(
    services.map((symbol) => ({
      asked: `file_containing_symbol "${symbol}"`,
      request: { kind: 'fileContainingSymbol', symbol },
    })),
  );

  const asked = new Set<string>();
  for (;;) {
    const imports = new Set([...files.values()].flatMap((file) => file.dependency));
    const missing = [...imports].filter((name) => !files.has(name) && !asked.has(name));
    if (missing.length === 0) return [...files.values()];
    for (const name of missing) asked.add(name);
    await fetch(
      missing.map((filename) => ({
        asked: `file_by_filename "${filename}"`,
        request: { kind: 'fileByFilename', filename },
      })),
    );
  }
}

function decodeFile(address: string, asked: string, bytes: Uint8Array): FileDescriptorProto {
  try {
    return fromBinary(FileDescriptorProtoSchema, bytes);
  } catch (error) {
    throw new GrpcReflectionError(address, `${asked} returned bytes that are not a FileDescriptorProto`, {
      cause: error,
    });
  }
}

function answerError(address: string, asked: string, answer: { code: number; message: string }): GrpcReflectionError {
  const name = grpc.status[answer.code] ?? String(answer.code);
  return new GrpcReflectionError(address, `${asked} failed: ${name} ${answer.message}`, { grpcCode: answer.code });
}

function callError(address: string, version: string, error: unknown, timeoutMs: number): GrpcReflectionError {
  const code = (error as Partial<grpc.ServiceError>).code;
  if (code === undefined)
    return new GrpcReflectionError(
      address,
      `reflection ${version} failed: ${String((error as Error)?.message ?? error)}`,
      { cause: error },
    );
  if (code === grpc.status.UNIMPLEMENTED) {
    return new GrpcReflectionError(address, 'server reflection is not served (v1 and v1alpha answered UNIMPLEMENTED)', {
      grpcCode: code,
      cause: error,
    });
  }
  if (code === grpc.status.DEADLINE_EXCEEDED) {
    return new GrpcReflectionError(address, `no complete answer within ${timeoutMs} ms`, {
      grpcCode: code,
      cause: error,
    });
  }
  const details = (error as grpc.ServiceError).details;
  return new GrpcReflectionError(address, `reflection ${version} call failed: ${grpc.status[code]} ${details}`, {
    grpcCode: code,
    cause: error,
  });
}

/** One ServerReflectionInfo stream: `ask` sends a request and resolves with its answer (answers come in order). */
class ReflectionStream {
  readonly #call: grpc.ClientDuplexStream<Uint8Array, Uint8Array>;
  readonly #waiting: { resolve(answer: ReflectionResponse): void; reject(error: unknown): void }[] = [];
  #failure: unknown;

  constructor(client: grpc.Client, version: (typeof VERSIONS)[number], deadline: number) {
    this.#call = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (request: Uint8Array) => Buffer.from(request.buffer, request.byteOffset, request.byteLength),
      (bytes: Buffer) => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      new grpc.Metadata(),
      { deadline },
    );
    this.#call.on('data', (bytes: Uint8Array) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return this.#fail(new Error('an answer arrived that nothing asked for'));
      try {
        waiter.resolve(decodeReflectionResponse(bytes));
      } catch (error) {
        waiter.reject(error);
      }
    });
    this.#call.on('error', (error) => this.#fail(error));
    this.#call.on('end', () => this.#fail(new Error('the server ended the stream before answering')));
  }

  ask(request: ReflectionRequest): Promise<ReflectionResponse> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#call.write(encodeReflectionRequest(request));
    });
  }

  close(): void {
    this.#call.cancel();
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#failure);
  }
}
