/**
 * The handler of backendRefs of kind Grpc: HTTP/JSON requests to the gRPC methods of one Service's endpoints.
 * Method descriptors come from the endpoints' server reflection (re-read on an interval, when the endpoints change
 * and, at most every few seconds, when a request names a method not known yet) or from a FileDescriptorSet; the
 * descriptors read last stay in use when a later read fails. The HTTP side follows google.api.http annotations
 * and the plain `POST /<package>.<Service>/<Method>` mapping; JSON is proto3 JSON.
 */

import type { Readable } from 'node:stream';
import { type DescMethod, fromBinary, type Registry, toBinary, toJson } from '@bufbuild/protobuf';
import type { Metadata } from '@grpc/grpc-js';
import { isPorticoError, PorticoError } from '@portico/errors';
import { type CallHandle, type ClusterRequest, type ResponseSink, UpstreamError } from '@portico/upstream';
import { GrpcChannels } from './call/channels.ts';
import { NdjsonSplitter, type StreamFraming, streamFramingFor } from './call/frames.ts';
import type { GrpcCall, GrpcCallListener, GrpcCallStatus, GrpcMethodKind } from './call/invoke.ts';
import {
  callTimeoutMs,
  DEFAULT_METADATA_ALLOW,
  type HttpHeaders,
  headersFromResponseMetadata,
  headersFromTrailers,
  requestMetadataMapper,
} from './call/metadata.ts';
import { httpStatusFromGrpcCode, rpcStatusToJson } from './call/status.ts';
import { grpcTranscodeChannels } from './channels.ts';
import { ServiceCatalog } from './descriptors/catalog.ts';
import { registryFromDescriptorSet } from './descriptors/descriptor-set.ts';
import { loadReflection } from './descriptors/reflection.ts';
import { GrpcMethodNotAllowedError, GrpcRouteNotFoundError } from './mapping/errors.ts';
import { buildRequest } from './mapping/request.ts';
import { responseJson } from './mapping/response.ts';
import { type HttpMethodMatch, HttpMethodTable } from './mapping/routes.ts';

/** What the transcoder needs of a cluster: an endpoint per call, and the list (to notice changes). */
export interface GrpcEndpointPicker {
  pick(hashKey?: string): { address: string; port: number } | undefined;
  endpoints(): ReadonlyArray<{ address: string; port: number }>;
}

/** The Service's `grpc` settings, resolved. */
export interface GrpcTranscoderOptions {
  /** Read descriptors from this FileDescriptorSet instead of server reflection. */
  descriptorSet?: Uint8Array | undefined;
  /** Server reflection re-read interval. */
  reflectionRefreshMs: number;
  /** Only these services are callable (all when undefined). */
  services?: readonly string[] | undefined;
  /** Request headers passed on as metadata, beside the default allow-list. */
  metadataHeaders: readonly string[];
  preserveProtoFieldNames: boolean;
  emitDefaults: boolean;
  ignoreUnknownFields: boolean;
  /** Largest request body read for one message, in bytes. */
  maxMessageBytes: number;
}

interface Descriptors {
  catalog: ServiceCatalog;
  table: HttpMethodTable;
  loadedAt: number;
}

/** A request for a method not in the descriptors re-reads reflection, at most this often. */
const UNKNOWN_METHOD_RELOAD_MS = 5_000;
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export class GrpcUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_GRPC_UNAVAILABLE', message, { status: 503, cause });
  }
}

export class GrpcBodyTooLargeError extends PorticoError {
  constructor(limit: number) {
    super('PORTICO_ERR_GRPC_BODY_TOO_LARGE', `request message over ${limit} bytes`, { status: 413 });
  }
}

export class GrpcTranscoder {
  readonly name: string;
  readonly #endpoints: GrpcEndpointPicker;
  readonly #channels = new GrpcChannels();
  #options: GrpcTranscoderOptions;
  #optionsKey = '';
  #metadataOf: (headers: HttpHeaders) => Metadata;
  #descriptors: Descriptors | undefined;
  #loading: Promise<void> | undefined;
  #lastError: PorticoError | undefined;
  #endpointsKey = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(name: string, endpoints: GrpcEndpointPicker, options: GrpcTranscoderOptions) {
    this.name = name;
    this.#endpoints = endpoints;
    this.#options = options;
    this.#metadataOf = requestMetadataMapper();
    this.configure(options);
  }

  /** Settings of the next snapshot; descriptors are read again when their source changed or the endpoints did. */
  configure(options: GrpcTranscoderOptions): void {
    const key = JSON.stringify({ ...options, descriptorSet: options.descriptorSet?.length });
    const sourceChanged = key !== this.#optionsKey || options.descriptorSet !== this.#options.descriptorSet;
    this.#options = options;
    if (key !== this.#optionsKey) {
      this.#optionsKey = key;
      this.#metadataOf = requestMetadataMapper({ allow: [...DEFAULT_METADATA_ALLOW, ...options.metadataHeaders] });
    }
    if (options.descriptorSet !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      if (sourceChanged || this.#descriptors === undefined) this.#loadDescriptorSet(options.descriptorSet);
      return;
    }
    const endpointsKey = this.#endpoints
      .endpoints()
      .map((e) => `${e.address}:${e.port}`)
      .join(',');
    if (sourceChanged || endpointsKey !== this.#endpointsKey || this.#descriptors === undefined) {
      this.#endpointsKey = endpointsKey;
      void this.#reload();
    }
    if (sourceChanged || this.#timer === undefined) {
      clearInterval(this.#timer);
      this.#timer = setInterval(() => void this.#reload(), options.reflectionRefreshMs).unref();
    }
  }

  dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle {
    const call = new TranscodedCall(this, req, sink);
    // Answer on a later tick either way: the caller keeps the handle before any callback.
    queueMicrotask(() => void call.run());
    return call;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#channels.close();
  }

  get options(): GrpcTranscoderOptions {
    return this.#options;
  }

  get channels(): GrpcChannels {
    return this.#channels;
  }

  get metadataOf(): (headers: HttpHeaders) => Metadata {
    return this.#metadataOf;
  }

  pickEndpoint(hashKey: string | undefined): { address: string; port: number } | undefined {
    return this.#endpoints.pick(hashKey);
  }

  /** The descriptors to match against: waits for the first read; the error of a read that never worked. */
  async descriptors(): Promise<Descriptors> {
    if (this.#descriptors === undefined) await (this.#loading ?? this.#reload());
    if (this.#descriptors !== undefined) return this.#descriptors;
    throw this.#lastError ?? new GrpcUnavailableError(`no gRPC descriptors for ${this.name}`);
  }

  /** A method not found: re-read reflection if the descriptors are older than UNKNOWN_METHOD_RELOAD_MS. */
  async fresher(than: Descriptors): Promise<Descriptors | undefined> {
    if (this.#options.descriptorSet !== undefined || Date.now() - than.loadedAt < UNKNOWN_METHOD_RELOAD_MS) return;
    await (this.#loading ?? this.#reload());
    return this.#descriptors === than ? undefined : this.#descriptors;
  }

  #loadDescriptorSet(bytes: Uint8Array): void {
    try {
      this.#use(new ServiceCatalog(registryFromDescriptorSet(bytes)), 'descriptorSet', undefined);
    } catch (err) {
      this.#failed(err, 'descriptorSet', undefined);
    }
  }

  #reload(): Promise<void> {
    if (this.#loading !== undefined) return this.#loading;
    this.#loading = this.#readReflection().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #readReflection(): Promise<void> {
    const endpoint = this.#endpoints.pick();
    if (endpoint === undefined) {
      this.#failed(new GrpcUnavailableError(`no endpoint of ${this.name} to read gRPC descriptors from`), 'reflection');
      return;
    }
    const where = `${endpoint.address}:${endpoint.port}`;
    try {
      const registry = await loadReflection({ host: endpoint.address, port: endpoint.port });
      if (!this.#closed) this.#use(new ServiceCatalog(registry), 'reflection', where);
    } catch (err) {
      this.#failed(err, 'reflection', where);
    }
  }

  #use(catalog: ServiceCatalog, source: 'reflection' | 'descriptorSet', endpoint: string | undefined): void {
    const allowed = this.#options.services;
    const services = catalog.services().filter((s) => allowed === undefined || allowed.includes(s.typeName));
    const table = new HttpMethodTable(services);
    this.#descriptors = { catalog, table, loadedAt: Date.now() };
    this.#lastError = undefined;
    grpcTranscodeChannels.descriptors.publish({
      backend: this.name,
      source,
      endpoint,
      services: services.map((s) => s.typeName),
      invalid: table.invalid.map((e) => e.message),
    });
  }

  #failed(err: unknown, source: 'reflection' | 'descriptorSet', endpoint?: string): void {
    this.#lastError = isPorticoError(err)
      ? err
      : new GrpcUnavailableError(`cannot read gRPC descriptors of ${this.name}`, err);
    grpcTranscodeChannels.descriptors.publish({ backend: this.name, source, endpoint, error: err });
  }
}

const KINDS: Record<DescMethod['methodKind'], GrpcMethodKind> = {
  unary: 'unary',
  server_streaming: 'server-stream',
  client_streaming: 'client-stream',
  bidi_streaming: 'bidi',
};

/** Flat [name, value, ...] or an object, as a lower-case header object. */
function headerObject(headers: ClusterRequest['headers']): HttpHeaders {
  if (!Array.isArray(headers)) return headers;
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    const value = headers[i + 1]!;
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

/** The whole body, up to `limit` bytes. Events, not an async iterator: this runs once per request. */
function readBody(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      done();
      body.pause();
      reject(new GrpcBodyTooLargeError(limit));
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    // Destroyed before its end (the client went away; the call is being aborted).
    const onClose = () => onError(new Error('the request body closed before its end'));
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

/** One HTTP request through the transcoder, and the handle the proxy holds. */
class TranscodedCall implements CallHandle, GrpcCallListener {
  readonly #t: GrpcTranscoder;
  readonly #req: ClusterRequest;
  readonly #sink: ResponseSink;
  #call: GrpcCall | undefined;
  #done = false;
  #started = false;
  #paused = false;
  #method: DescMethod | undefined;
  #match: HttpMethodMatch | undefined;
  #registry: Registry | undefined;
  #framing: StreamFraming | undefined;
  #reply: Buffer | undefined;
  #replyHeaders: Record<string, string[]> = {};

  constructor(t: GrpcTranscoder, req: ClusterRequest, sink: ResponseSink) {
    this.#t = t;
    this.#req = req;
    this.#sink = sink;
  }

  async run(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      this.#fail(err);
    }
  }

  async #start(): Promise<void> {
    const req = this.#req;
    const q = req.path.indexOf('?');
    const path = q === -1 ? req.path : req.path.slice(0, q);
    const query = q === -1 ? '' : req.path.slice(q + 1);
    let descriptors = await this.#t.descriptors();
    let found = descriptors.table.match(req.method, path);
    if (found.kind === 'notFound') {
      const fresher = await this.#t.fresher(descriptors);
      if (fresher !== undefined) {
        descriptors = fresher;
        found = descriptors.table.match(req.method, path);
      }
    }
    if (this.#done) return;
    if (found.kind === 'notFound') throw new GrpcRouteNotFoundError(req.method, path);
    if (found.kind === 'methodNotAllowed') throw new GrpcMethodNotAllowedError(req.method, path, found.allowed);
    const match = found;
    const method = match.method;
    this.#match = match;
    this.#method = method;
    this.#registry = descriptors.catalog.registry;
    const options = this.#t.options;
    const headers = headerObject(req.headers);
    const metadata = this.#t.metadataOf(headers);
    const kind = KINDS[method.methodKind];
    const streamsIn = kind === 'client-stream' || kind === 'bidi';
    let message: Uint8Array | undefined;
    if (!streamsIn) {
      const body = req.body === null ? undefined : await readBody(req.body, options.maxMessageBytes);
      if (this.#done) return;
      message = toBinary(method.input, this.#build(query, body));
    }
    if (kind === 'server-stream' || kind === 'bidi') this.#framing = streamFramingFor(headers.accept);
    const endpoint = this.#t.pickEndpoint(req.hashKey);
    if (endpoint === undefined) throw new GrpcUnavailableError(`no endpoint of ${this.#t.name} is available`);
    const timeoutMs = callTimeoutMs(req.backendTimeoutMs, headers['grpc-timeout']);
    this.#call = this.#t.channels.startCall(
      endpoint,
      {
        path: `/${method.parent.typeName}/${method.name}`,
        kind,
        ...(message === undefined ? {} : { message }),
        metadata,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      },
      this,
    );
    if (streamsIn) this.#pipeRequests(query);
  }

  #build(query: string, body: Uint8Array | undefined) {
    return buildRequest(
      this.#match!,
      { query, body },
      { ignoreUnknownFields: this.#t.options.ignoreUnknownFields, registry: this.#registry! },
    );
  }

  /** Client streaming: one request message per NDJSON line of the body, with backpressure. */
  #pipeRequests(query: string): void {
    const call = this.#call!;
    const body = this.#req.body;
    if (body === null) {
      call.end();
      return;
    }
    const splitter = new NdjsonSplitter({ maxLineBytes: this.#t.options.maxMessageBytes });
    const lines = body.pipe(splitter);
    lines.on('data', (value: unknown) => {
      if (this.#done) return;
      try {
        const bytes = toBinary(this.#method!.input, this.#build(query, Buffer.from(JSON.stringify(value))));
        if (!call.write(bytes)) lines.pause();
      } catch (err) {
        this.#fail(err);
        call.cancel();
      }
    });
    lines.once('end', () => call.end());
    lines.once('error', (err: unknown) => {
      this.#fail(err);
      call.cancel();
    });
    this.#resumeLines = () => lines.resume();
  }

  #resumeLines: (() => void) | undefined;

  onDrain(): void {
    this.#resumeLines?.();
  }

  onHeaders(metadata: Metadata): void {
    this.#replyHeaders = headersFromResponseMetadata(metadata);
    if (this.#framing === undefined || this.#done) return;
    this.#begin();
  }

  /** A streamed answer's head: 200 and the framing's content type. */
  #begin(): void {
    this.#started = true;
    const head = { ...this.#replyHeaders, 'content-type': this.#framing!.contentType, 'cache-control': 'no-cache' };
    if (this.#sink.onResponseStart(200, head, this) === false) this.#pause();
  }

  onMessage(message: Buffer): boolean {
    if (this.#done) return true;
    if (this.#framing === undefined) {
      this.#reply = message;
      return true;
    }
    if (!this.#started) this.#begin();
    const json = toJson(this.#method!.output, fromBinary(this.#method!.output, message), this.#jsonOptions());
    if (this.#sink.onResponseData(this.#framing.message(json))) return !this.#paused;
    this.#paused = true;
    return false;
  }

  onEnd(status: GrpcCallStatus): void {
    if (this.#done) return;
    if (status.code !== 0) return this.#endWithStatus(status);
    if (this.#framing !== undefined) {
      if (!this.#started) this.#begin();
      this.#done = true;
      this.#sink.onResponseEnd({});
      return;
    }
    const method = this.#method!;
    const reply = fromBinary(method.output, this.#reply ?? new Uint8Array());
    const body = Buffer.from(
      responseJson(method, reply, this.#match!.binding, { ...this.#jsonOptions(), registry: this.#registry! }),
    );
    const headers = { ...this.#replyHeaders, ...headersFromTrailers(status.metadata), ...JSON_HEADERS };
    this.#answer(200, headers, body);
  }

  #jsonOptions() {
    const o = this.#t.options;
    return {
      alwaysEmitImplicit: o.emitDefaults,
      useProtoFieldName: o.preserveProtoFieldNames,
      preserveProtoFieldNames: o.preserveProtoFieldNames,
      emitDefaults: o.emitDefaults,
      registry: this.#registry!,
    };
  }

  #endWithStatus(status: GrpcCallStatus): void {
    const json = rpcStatusToJson(status, this.#registry);
    if (this.#started) {
      // The head is out: the stream says how it failed in its own framing, then ends.
      this.#done = true;
      this.#sink.onResponseData(this.#framing!.error(json));
      this.#sink.onResponseEnd({});
      return;
    }
    const headers = { ...this.#replyHeaders, ...headersFromTrailers(status.metadata), ...JSON_HEADERS };
    this.#answer(httpStatusFromGrpcCode(status.code), headers, Buffer.from(JSON.stringify(json)));
  }

  /** A whole answer: head, body, end. */
  #answer(status: number, headers: Record<string, string | string[]>, body: Buffer): void {
    this.#done = true;
    this.#started = true;
    const go = this.#sink.onResponseStart(status, { ...headers, 'content-length': String(body.length) }, this);
    if (go === false) {
      this.#pendingBody = body;
      return;
    }
    this.#finishBody(body);
  }

  #pendingBody: Buffer | undefined;

  #finishBody(body: Buffer): void {
    if (body.length > 0 && !this.#sink.onResponseData(body)) {
      this.#pendingBody = Buffer.alloc(0);
      return;
    }
    this.#pendingBody = undefined;
    this.#sink.onResponseEnd({});
  }

  /** Before the gRPC call answered: a transcoding error, as a JSON answer (or the sink's error when cut). */
  #fail(err: unknown): void {
    if (this.#done) return;
    const error = isPorticoError(err) ? err : toError(err);
    if (this.#started) {
      this.#done = true;
      const where = { cluster: this.#t.name };
      this.#sink.onResponseError(new UpstreamError(error.code, error.status, error.message, where, { cause: error }));
      return;
    }
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (error instanceof GrpcMethodNotAllowedError) headers.allow = error.allowed.join(', ');
    this.#answer(error.status, headers, Buffer.from(JSON.stringify(error.toJSON())));
  }

  #pause(): void {
    this.#paused = true;
    this.#call?.pause();
  }

  resume(): void {
    if (this.#pendingBody !== undefined) return this.#finishBody(this.#pendingBody);
    if (!this.#paused) return;
    this.#paused = false;
    this.#call?.resume();
  }

  abort(): void {
    if (this.#done && this.#pendingBody === undefined) return;
    this.#done = true;
    this.#call?.cancel();
    this.#req.body?.destroy();
  }
}

function toError(err: unknown): PorticoError {
  return new PorticoError('PORTICO_ERR_GRPC_TRANSCODE', 'transcoding failed', { status: 500, cause: err });
}
