/**
 * One gRPC call with raw message bytes, of any of the four kinds, behind one small interface a proxy can drive:
 * the listener gets response headers, each message and the final status (always last, exactly once); the caller
 * writes request messages, ends the request, pauses and resumes the response and cancels.
 *
 * Messages are never (de)serialized here: serialize and deserialize are identities on Buffer, so the transcoder
 * owns the protobuf work and this layer owns the transport.
 */
import {
  type CallOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  Metadata,
  status,
} from '@grpc/grpc-js';
import { GrpcCallOptionError } from './errors.ts';
import type { GrpcStatusLike } from './status.ts';

export type GrpcMethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

export interface GrpcCallRequest {
  /** `/<package>.<Service>/<Method>`. */
  path: string;
  kind: GrpcMethodKind;
  /** The one request message of a unary or server-stream call; absent for the streaming-request kinds. */
  message?: Uint8Array;
  metadata?: Metadata;
  /** Time allowed from now, in ms; the call ends with DEADLINE_EXCEEDED after it. Undefined: no deadline. */
  timeoutMs?: number;
}

/** The final status: code, the grpc-message text (`details`) and the trailers. */
export type GrpcCallStatus = GrpcStatusLike;

export interface GrpcCallListener {
  /** Response headers, before any message. Not called when the server answers with trailers only. */
  onHeaders?(metadata: Metadata, call: GrpcCall): void;
  /** One response message. Return false to pause until `call.resume()`; nothing or true goes on. */
  // biome-ignore lint/suspicious/noConfusingVoidType: lets a listener that never pauses return nothing
  onMessage(message: Buffer, call: GrpcCall): boolean | void;
  /** The last event, exactly once: after every message, or at once on cancel(). */
  onEnd(status: GrpcCallStatus): void;
  /** A write() that returned false may be followed by more writes now. */
  onDrain?(call: GrpcCall): void;
}

/** A started call, as its caller holds it. */
export interface GrpcCall {
  /** Send one request message (client-stream and bidi only). false: wait for onDrain before writing more. */
  write(message: Uint8Array): boolean;
  /** No more request messages (client-stream and bidi only). */
  end(): void;
  /** Stop delivering messages until resume(); flow control then holds the server back. */
  pause(): void;
  resume(): void;
  /**
   * Cancel the call (RST_STREAM to the server); the listener's onEnd comes at once with this status, CANCELLED
   * unless another is given. Nothing after it. A no-op once the call ended.
   */
  cancel(reason?: { code: status; details: string }): void;
  readonly ended: boolean;
}

const METHOD_PATH = /^\/[^/\s]+\/[^/\s]+$/;
const identity = (value: Buffer): Buffer => value;
const toBuffer = (value: Uint8Array): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);

type Readable = ClientReadableStream<Buffer>;

class RawGrpcCall implements GrpcCall {
  readonly #listener: GrpcCallListener;
  readonly #kind: GrpcMethodKind;
  /** The grpc-js call object: a stream for the streaming kinds, an emitter for the others. */
  #call: ClientUnaryCall | ClientWritableStream<Buffer> | Readable | undefined;
  #writable: { write(chunk: Buffer): boolean; end(): void } | undefined;
  #readable: Readable | undefined;
  #ended = false;
  #paused = false;
  /** The single response of a unary or client-stream call, held while paused. */
  #single: Buffer | undefined;
  /** The final status, held until every message before it was delivered. */
  #status: GrpcCallStatus | undefined;
  #readableEnded = false;

  constructor(kind: GrpcMethodKind, listener: GrpcCallListener) {
    this.#kind = kind;
    this.#listener = listener;
  }

  get ended(): boolean {
    return this.#ended;
  }

  start(client: Client, req: GrpcCallRequest): void {
    const metadata = req.metadata ?? new Metadata();
    const options: CallOptions = req.timeoutMs === undefined ? {} : { deadline: Date.now() + req.timeoutMs };
    switch (req.kind) {
      case 'unary': {
        const call = client.makeUnaryRequest<Buffer, Buffer>(
          req.path,
          identity,
          identity,
          toBuffer(req.message!),
          metadata,
          options,
          (err, message) => this.#onSingleResult(err, message),
        );
        this.#watchSingle(call);
        break;
      }
      case 'client-stream': {
        const call = client.makeClientStreamRequest<Buffer, Buffer>(
          req.path,
          identity,
          identity,
          metadata,
          options,
          (err, message) => this.#onSingleResult(err, message),
        );
        this.#writable = call;
        call.on('drain', () => this.#onDrain());
        // A write after the call ended errors the stream; the status already tells the story.
        call.on('error', () => {});
        this.#watchSingle(call);
        break;
      }
      case 'server-stream': {
        const call = client.makeServerStreamRequest<Buffer, Buffer>(
          req.path,
          identity,
          identity,
          toBuffer(req.message!),
          metadata,
          options,
        );
        this.#watchStream(call);
        break;
      }
      case 'bidi': {
        const call = client.makeBidiStreamRequest<Buffer, Buffer>(req.path, identity, identity, metadata, options);
        this.#writable = call;
        call.on('drain', () => this.#onDrain());
        this.#watchStream(call);
        break;
      }
    }
  }

  /** Unary and client-stream: grpc-js calls back with the result, then emits 'status' with the trailers. */
  #watchSingle(call: ClientUnaryCall | ClientWritableStream<Buffer>): void {
    this.#call = call;
    call.on('metadata', (metadata: Metadata) => this.#onHeaders(metadata));
    call.on('status', (grpcStatus: GrpcCallStatus) => {
      // The callback's error wins: grpc-js reports "no message received" there while 'status' says OK.
      this.#status ??= grpcStatus;
      this.#flush();
    });
  }

  #onSingleResult(err: (Error & Partial<GrpcCallStatus>) | null, message: Buffer | undefined): void {
    if (err !== null) {
      this.#status = {
        code: err.code ?? status.UNKNOWN,
        details: err.details ?? err.message,
        metadata: err.metadata ?? new Metadata(),
      };
      return;
    }
    this.#single = message;
  }

  /** Server-stream and bidi: a Readable of messages; 'status' can come before buffered messages are read. */
  #watchStream(stream: Readable): void {
    this.#call = stream;
    this.#readable = stream;
    stream.on('metadata', (metadata: Metadata) => this.#onHeaders(metadata));
    stream.on('data', (message: Buffer) => {
      if (this.#ended) return;
      if (this.#listener.onMessage(message, this) === false && !this.#ended) this.pause();
    });
    stream.on('end', () => {
      this.#readableEnded = true;
      this.#flush();
    });
    stream.on('status', (grpcStatus: GrpcCallStatus) => {
      this.#status = grpcStatus;
      this.#flush();
    });
    // grpc-js emits 'error' for a non-OK status, right before 'status'; the status is what is reported.
    stream.on('error', () => {});
  }

  #onHeaders(metadata: Metadata): void {
    if (this.#ended) return;
    this.#listener.onHeaders?.(metadata, this);
  }

  #onDrain(): void {
    if (this.#ended) return;
    this.#listener.onDrain?.(this);
  }

  /** Delivers what is due, in order: the single message, then the status once nothing is left before it. */
  #flush(): void {
    if (this.#ended || this.#paused) return;
    if (this.#single !== undefined) {
      const message = this.#single;
      this.#single = undefined;
      if (this.#listener.onMessage(message, this) === false && !this.#ended) {
        this.#paused = true;
        return;
      }
    }
    if (this.#status === undefined || this.#ended) return;
    if (this.#readable !== undefined && !this.#readableEnded) return;
    this.#finish(this.#status);
  }

  #finish(final: GrpcCallStatus): void {
    this.#ended = true;
    this.#single = undefined;
    this.#listener.onEnd(final);
  }

  write(message: Uint8Array): boolean {
    if (this.#writable === undefined) {
      throw new GrpcCallOptionError('write', `is for client-stream and bidi calls, not ${this.#kind}`);
    }
    if (this.#ended) return true;
    return this.#writable.write(toBuffer(message));
  }

  end(): void {
    if (this.#writable === undefined) {
      throw new GrpcCallOptionError('end', `is for client-stream and bidi calls, not ${this.#kind}`);
    }
    if (this.#ended) return;
    this.#writable.end();
  }

  pause(): void {
    if (this.#ended || this.#paused) return;
    this.#paused = true;
    this.#readable?.pause();
  }

  resume(): void {
    if (this.#ended || !this.#paused) return;
    this.#paused = false;
    this.#readable?.resume();
    this.#flush();
  }

  cancel(
    reason: { code: status; details: string } = { code: status.CANCELLED, details: 'cancelled by the caller' },
  ): void {
    if (this.#ended) return;
    this.#finish({ code: reason.code, details: reason.details, metadata: new Metadata() });
    this.#call?.cancel();
  }
}

/** Throws GrpcCallOptionError for a malformed path or a message given to (or missing from) the wrong kind of call. */
export function checkGrpcCallRequest(req: GrpcCallRequest): void {
  if (!METHOD_PATH.test(req.path)) {
    throw new GrpcCallOptionError('path', `must be /<package>.<Service>/<Method>, got "${req.path}"`);
  }
  const single = req.kind === 'unary' || req.kind === 'server-stream';
  if (single && req.message === undefined)
    throw new GrpcCallOptionError('message', `is required for a ${req.kind} call`);
  if (!single && req.message !== undefined) {
    throw new GrpcCallOptionError('message', `is not taken by a ${req.kind} call: write() the messages`);
  }
  if (req.timeoutMs !== undefined && !(req.timeoutMs >= 0)) throw new GrpcCallOptionError('timeoutMs', 'must be >= 0');
}

/** Start one call on `client` (checked by checkGrpcCallRequest). Listener callbacks never run before this returns. */
export function startGrpcCall(client: Client, req: GrpcCallRequest, listener: GrpcCallListener): GrpcCall {
  checkGrpcCallRequest(req);
  const call = new RawGrpcCall(req.kind, listener);
  call.start(client, req);
  return call;
}
