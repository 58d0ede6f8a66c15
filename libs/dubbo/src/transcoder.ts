/**
 * The handler of backendRefs of kind Dubbo: HTTP/JSON requests to the methods of one Dubbo interface, called on
 * the endpoints of one Service as generic calls (`$invoke`) over Dubbo 2 / hessian2.
 *
 * HTTP side: `POST /dubbo/<interface>/<method>` (the configured interface only) with a JSON array of positional
 * arguments, a JSON object (the one argument of a method taking a POJO or a Map), or no body (no arguments).
 * `GET` calls a method without arguments. Parameter types may be given in the `x-dubbo-types` header or the
 * `types` query parameter (`java.lang.String,int,java.util.Map<java.lang.String,java.lang.Object>`).
 *
 * With the `signatures` option (metadata.ts), a call without parameter types is typed from the signatures the
 * provider publishes, as if the client had sent them; a method they lack is a 404 before any call.
 * Without parameter types or signatures the call is `$invoke(method, null, args)`: Dubbo 3.3's GenericFilter finds
 * the method by its name (it must not be overloaded) and PojoUtils converts each JSON value to the parameter's real
 * type.
 * Checked against the Dubbo 3.3 provider of e2e/peers (TypesService), what round-trips this way:
 * - int, Integer, long, Long (beyond 2^53 sent and answered as a decimal string), double, boolean, String, null;
 * - BigDecimal and BigInteger as decimal strings (or numbers), enums by constant name, LocalDateTime as its ISO
 *   string, List<String>, Map<String, Object>, List<POJO> and POJOs as JSON objects (unknown fields are ignored);
 * - java.util.Date only as epoch milliseconds (or `yyyy-MM-dd HH:mm:ss` in the provider's time zone): PojoUtils
 *   cannot parse ISO-8601;
 * - byte[] only as a JSON array of numbers (-128..255): a base64 string fails, in a parameter or a POJO field.
 * The provider's conversion is lenient where JSON is not (`"maybe"` becomes boolean false) and a value of the wrong
 * shape for a List or a POJO (a number) fails inside the method as a 500 java.lang.ClassCastException; values it
 * cannot parse (numbers, enum names, dates) and a wrong argument count are 400 PORTICO_ERR_DUBBO_ARGUMENT.
 * With explicit types the arguments are typed by `jsonToJava` (exact ints, longs, BigDecimal, ISO dates, base64
 * byte[], and a 400 naming the argument path for a value that does not fit), and the method may be overloaded.
 * Answers are the same either way: 200 with the result as JSON (`javaToJson`: byte[] as base64, Date as ISO-8601,
 * long beyond 2^53 as a string).
 *
 * Errors are JSON (`{"error": {"code", "message", "details"}}`): a Java exception is 500
 * PORTICO_ERR_DUBBO_EXCEPTION, a timeout 504, no endpoint 503, an unknown interface or method 404, bad JSON or an
 * argument the provider cannot convert 400, a body over `maxBodyBytes` 413.
 *
 * Request headers `x-dubbo-attachment-<key>` travel as attachments `<key>`, and so do `x-request-id`,
 * `traceparent` and `tracestate`; keys that steer the provider (path, version, group, generic, token...) are a 400.
 * Dubbo has no way to cancel a call: an aborted request's answer is dropped.
 */

import type { Readable } from 'node:stream';
import { isPorticoError, PorticoError } from '@portico/errors';
import {
  type CallHandle,
  type ClusterRequest,
  type Headers,
  type ResponseSink,
  UpstreamAbortedError,
} from '@portico/upstream';
import { DubboClient, type DubboClientOptions } from './client.ts';
import { type Attachments, DubboStatus, GENERIC_METHOD } from './codec.ts';
import { DubboError, DubboOptionError, DubboServiceExceptionError, DubboStatusError } from './errors.ts';
import { typed } from './hessian.ts';
import { javaToJson } from './java-to-json.ts';
import { parseJavaType } from './java-types.ts';
import { jsonToJava } from './json-to-java.ts';
import { type DubboServiceKey, type DubboSignatureSource, typedByMetadata } from './metadata.ts';
import type { RpcMethodMatch, RpcRoutes } from './rpc-mapping.ts';

/** What the transcoder needs of a cluster: an endpoint per call. */
export interface DubboEndpointPicker {
  pick(hashKey?: string): { address: string; port: number } | undefined;
}

export interface DubboTranscoderOptions {
  /** The one interface callable through this transcoder, e.g. `com.example.TypesService`. */
  interface: string;
  version?: string | undefined;
  group?: string | undefined;
  /** Call timeout; a request's shorter `backendTimeoutMs` wins. */
  timeoutMs: number;
  /** Largest request body read, in bytes. */
  maxBodyBytes: number;
  /** Settings of the transcoder's own DubboClient (connections per endpoint, heartbeats...). */
  client?: Omit<DubboClientOptions, 'timeoutMs'> | undefined;
  /**
   * Method signatures published by the provider (see metadata.ts): a call without explicit types is typed by them,
   * and a method they lack is a 404 before any call. Without them, or when a provider publishes none, the call is
   * the untyped `$invoke(method, null, args)`.
   */
  signatures?: DubboSignatureSource | undefined;
  /** The providers' application name, for signature sources keyed by it (MetadataService, metadata report). */
  application?: string | undefined;
}

const PATH_PREFIX = '/dubbo/';
const TYPES_HEADER = 'x-dubbo-types';
const ATTACHMENT_HEADER_PREFIX = 'x-dubbo-attachment-';
/** Request headers passed on as attachments under their own name. */
const FORWARDED_HEADERS = ['x-request-id', 'traceparent', 'tracestate'] as const;
/** Attachments that steer the provider (service key, generic mode, token): never taken from a client. */
const RESERVED_ATTACHMENTS = new Set([
  'path',
  'interface',
  'version',
  'group',
  'timeout',
  'generic',
  'token',
  'dubbo',
  'methodname',
  'serialization_id',
]);
const JAVA_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const METHOD_NAME = /^[A-Za-z_][\w$]*$/;
const JSON_HEADERS = { 'content-type': 'application/json' } as const;
/** The parameter types of `$invoke(String method, String[] parameterTypes, Object[] args)`. */
const INVOKE_SIGNATURE = ['java.lang.String', 'java.lang.String[]', 'java.lang.Object[]'];
/**
 * A generic call's provider reports arguments it cannot convert (or a wrong count) as SERVICE_ERROR with these
 * messages, before the method runs: the client's request is wrong.
 */
const PROVIDER_ARGUMENT_ERRORS =
  /GenericFilter#invoke args\.length != types\.length|NumberFormatException|Failed to parse|Failed to set pojo|argument type mismatch|DateTimeParseException|No enum constant|Not unique method/;

/** The request path is not `/dubbo/<configured interface>/<method>`. */
export class DubboRouteNotFoundError extends DubboError {
  constructor(path: string, iface: string) {
    super(
      'PORTICO_ERR_DUBBO_ROUTE_NOT_FOUND',
      404,
      `no dubbo method at ${path}: the path must be ${PATH_PREFIX}${iface}/<method>`,
    );
  }
}

export class DubboMethodNotAllowedError extends DubboError {
  readonly allowed: readonly string[];
  constructor(method: string, allowed: readonly string[]) {
    super('PORTICO_ERR_DUBBO_METHOD_NOT_ALLOWED', 405, `${method} is not allowed: use ${allowed.join(' or ')}`);
    this.allowed = allowed;
  }
}

/** The request cannot become a call: bad JSON, a bad types list, a reserved attachment. `path` says where. */
export class DubboInvalidRequestError extends DubboError {
  constructor(path: string, message: string) {
    super('PORTICO_ERR_DUBBO_INVALID_REQUEST', 400, `${path}: ${message}`);
    this.details.push({ path, message });
  }
}

/** The provider refused the arguments (a count or a value it could not convert to the parameter's type). */
export class DubboProviderArgumentError extends DubboError {
  constructor(providerMessage: string, endpoint: string | undefined) {
    super('PORTICO_ERR_DUBBO_ARGUMENT', 400, `the provider rejected the arguments: ${providerMessage}`, {
      endpoint,
    });
    this.details.push({
      path: 'args',
      message: `${providerMessage} (send ${TYPES_HEADER} to have the arguments checked and typed by the gateway)`,
    });
  }
}

export class DubboNoEndpointError extends DubboError {
  constructor(backend: string) {
    super('PORTICO_ERR_DUBBO_NO_ENDPOINT', 503, `no endpoint of ${backend} is available`);
  }
}

export class DubboBodyTooLargeError extends DubboError {
  constructor(limit: number) {
    super('PORTICO_ERR_DUBBO_BODY_TOO_LARGE', 413, `request body over ${limit} bytes`);
  }
}

export class DubboTranscoder {
  readonly name: string;
  readonly options: Readonly<DubboTranscoderOptions>;
  readonly #endpoints: DubboEndpointPicker;
  readonly #client: DubboClient;
  /** REST routes of the interface's RpcMapping, tried before `/dubbo/<interface>/<method>`. */
  mapping: RpcRoutes | undefined;

  constructor(name: string, endpoints: DubboEndpointPicker, options: DubboTranscoderOptions) {
    if (typeof name !== 'string' || name === '') throw new DubboOptionError('name', 'must be a non-empty string');
    if (typeof endpoints?.pick !== 'function') throw new DubboOptionError('endpoints', 'must have pick()');
    if (typeof options.interface !== 'string' || !JAVA_NAME.test(options.interface)) {
      throw new DubboOptionError('interface', 'must be a Java interface name (com.example.DemoService)');
    }
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
      throw new DubboOptionError('timeoutMs', 'must be an integer >= 1');
    }
    if (!Number.isInteger(options.maxBodyBytes) || options.maxBodyBytes < 1) {
      throw new DubboOptionError('maxBodyBytes', 'must be an integer >= 1');
    }
    this.name = name;
    this.options = Object.freeze({ ...options });
    this.#endpoints = endpoints;
    this.#client = new DubboClient({ ...options.client, timeoutMs: options.timeoutMs });
  }

  dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle {
    const call = new TranscodedDubboCall(this, req, sink);
    // Answer on a later tick either way: the caller keeps the handle before any callback.
    queueMicrotask(() => void call.run());
    return call;
  }

  /** Closes the client: calls in flight fail, later ones are refused. */
  close(): void {
    this.#client.close();
  }

  get client(): DubboClient {
    return this.#client;
  }

  pickEndpoint(hashKey: string | undefined): { address: string; port: number } | undefined {
    return this.#endpoints.pick(hashKey);
  }
}

/** One HTTP request through the transcoder, and the handle the proxy holds. */
class TranscodedDubboCall implements CallHandle {
  readonly #t: DubboTranscoder;
  readonly #req: ClusterRequest;
  readonly #sink: ResponseSink;
  /** An answer (or abort) decided: later results are dropped. */
  #done = false;
  /** onResponseStart was called. */
  #started = false;
  /** Body bytes waiting for resume() (empty: only the end is). */
  #pending: Buffer | undefined;

  constructor(t: DubboTranscoder, req: ClusterRequest, sink: ResponseSink) {
    this.#t = t;
    this.#req = req;
    this.#sink = sink;
  }

  async run(): Promise<void> {
    try {
      await this.#call();
    } catch (err) {
      this.#fail(err);
    }
  }

  async #call(): Promise<void> {
    const req = this.#req;
    const options = this.#t.options;
    const q = req.path.indexOf('?');
    const path = q === -1 ? req.path : req.path.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : req.path.slice(q + 1));
    const mapped = this.#t.mapping?.match(req.method, path);
    if (mapped?.kind === 'methodNotAllowed') throw new DubboMethodNotAllowedError(req.method, mapped.allowed);
    if (mapped?.kind === 'method') return this.#callMapped(mapped, query);
    const method = methodOf(path, options.interface);
    if (req.method !== 'POST' && req.method !== 'GET')
      throw new DubboMethodNotAllowedError(req.method, ['POST', 'GET']);
    const headers = headerObject(req.headers);
    const typesText = headers[TYPES_HEADER] ?? query.get('types') ?? undefined;
    const parameterTypes =
      typesText === undefined ? undefined : parseTypes(typesText, headers[TYPES_HEADER] !== undefined);
    const attachments = attachmentsOf(headers);
    const body = req.body === null ? Buffer.alloc(0) : await readBody(req.body, options.maxBodyBytes);
    if (this.#done) return;
    const json = parseArguments(req.method, body, parameterTypes);
    const endpoint = this.#t.pickEndpoint(req.hashKey);
    if (endpoint === undefined) throw new DubboNoEndpointError(this.#t.name);
    const timeoutMs = Math.max(1, Math.ceil(Math.min(options.timeoutMs, req.backendTimeoutMs ?? options.timeoutMs)));
    const service = { interface: options.interface, version: options.version, group: options.group };
    // Signatures from the provider's metadata, when the request names no types.
    const metadataKey: DubboServiceKey = {
      ...service,
      endpoint: { host: endpoint.address, port: endpoint.port },
      application: options.application,
    };
    const byMetadata =
      parameterTypes === undefined && options.signatures !== undefined
        ? await typedByMetadata(options.signatures, metadataKey, method, json)
        : undefined;
    if (this.#done) return;
    const typedCall =
      byMetadata ??
      (parameterTypes === undefined ? undefined : { parameterTypes, args: jsonToJava(parameterTypes, json) });
    const call =
      typedCall === undefined
        ? {
            // `$invoke(method, null, args)`: the provider finds the method by name and converts the arguments.
            ...service,
            method: GENERIC_METHOD,
            parameterTypes: INVOKE_SIGNATURE,
            args: [
              method,
              null,
              typed(
                '[object',
                jsonToJava(
                  json.map(() => 'java.lang.Object'),
                  json,
                ),
              ),
            ],
            attachments: { ...attachments, generic: 'true' },
            generic: false,
            timeoutMs,
          }
        : { ...service, method, ...typedCall, attachments, timeoutMs };
    let value: unknown;
    try {
      value = await this.#t.client.invoke({ host: endpoint.address, port: endpoint.port }, call);
    } catch (err) {
      // The provider lacks a method its published signatures name: have them re-read.
      if (byMetadata !== undefined && err instanceof DubboError && err.status === 404) {
        options.signatures?.invalidate(metadataKey);
      }
      throw providerError(err);
    }
    if (this.#done) return;
    this.#answer(200, { ...JSON_HEADERS }, Buffer.from(JSON.stringify(javaToJson(value))));
  }

  /** A REST route of the RpcMapping: its declared types, its arguments from path, query, headers and body. */
  async #callMapped(mapped: RpcMethodMatch, query: URLSearchParams): Promise<void> {
    const req = this.#req;
    const options = this.#t.options;
    const headers = headerObject(req.headers);
    const body = req.body === null ? Buffer.alloc(0) : await readBody(req.body, options.maxBodyBytes);
    if (this.#done) return;
    const request = { query, headers, body };
    const args = mapped.javaArgs(request);
    const endpoint = this.#t.pickEndpoint(req.hashKey);
    if (endpoint === undefined) throw new DubboNoEndpointError(this.#t.name);
    const timeoutMs = Math.max(1, Math.ceil(Math.min(options.timeoutMs, req.backendTimeoutMs ?? options.timeoutMs)));
    const call = {
      interface: options.interface,
      version: options.version,
      group: options.group,
      method: mapped.method,
      parameterTypes: mapped.parameterTypes,
      args,
      attachments: { ...attachmentsOf(headers), ...mapped.attachments(headers) },
      timeoutMs,
    };
    let value: unknown;
    try {
      value = await this.#t.client.invoke({ host: endpoint.address, port: endpoint.port }, call);
    } catch (err) {
      throw providerError(err);
    }
    if (this.#done) return;
    this.#answer(200, { ...JSON_HEADERS }, Buffer.from(JSON.stringify(javaToJson(value))));
  }

  /** A whole answer: head, body, end, pausing where the sink asks to. */
  #answer(status: number, headers: Headers, body: Buffer): void {
    this.#done = true;
    this.#started = true;
    this.#pending = body;
    if (this.#sink.onResponseStart(status, { ...headers, 'content-length': String(body.length) }, this) === false) {
      return;
    }
    this.#flush();
  }

  #flush(): void {
    const body = this.#pending;
    if (body === undefined) return;
    this.#pending = Buffer.alloc(0);
    if (body.length > 0 && !this.#sink.onResponseData(body)) return;
    this.#pending = undefined;
    this.#sink.onResponseEnd({});
  }

  /** A request that failed before an answer: a JSON error answer. */
  #fail(err: unknown): void {
    if (this.#done) return;
    const error = isPorticoError(err)
      ? err
      : new PorticoError('PORTICO_ERR_DUBBO_TRANSCODE', 'transcoding failed', { status: 500, cause: err });
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (error instanceof DubboMethodNotAllowedError) headers.allow = error.allowed.join(', ');
    this.#answer(error.status, headers, Buffer.from(JSON.stringify(errorBody(error))));
  }

  resume(): void {
    this.#flush();
  }

  abort(): void {
    if (this.#done && this.#pending === undefined) return;
    const committed = this.#started;
    this.#done = true;
    this.#pending = undefined;
    this.#req.body?.destroy();
    if (!committed) this.#sink.onResponseError(new UpstreamAbortedError({ cluster: this.#t.name }));
  }
}

/** `/dubbo/<interface>/<method>` -> the method name; 404 for any other path. */
function methodOf(path: string, iface: string): string {
  const rest = path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : '';
  const slash = rest.indexOf('/');
  let pathInterface = '';
  let method = '';
  try {
    pathInterface = decodeURIComponent(rest.slice(0, slash));
    method = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    throw new DubboRouteNotFoundError(path, iface);
  }
  if (slash <= 0 || pathInterface !== iface || !METHOD_NAME.test(method)) {
    throw new DubboRouteNotFoundError(path, iface);
  }
  return method;
}

/** `java.lang.String, int, java.util.Map<java.lang.String,java.lang.Object>`: split at top-level commas. */
function parseTypes(text: string, fromHeader: boolean): string[] {
  const where = fromHeader ? TYPES_HEADER : 'types';
  const types: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if ((c === ',' && depth === 0) || i === text.length) {
      types.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (types.length === 1 && types[0] === '') return [];
  types.forEach((type, i) => {
    try {
      parseJavaType(type);
    } catch (err) {
      throw new DubboInvalidRequestError(`${where}[${i}]`, (err as Error).message);
    }
  });
  return types;
}

/** The JSON arguments, positional. */
function parseArguments(method: string, body: Buffer, parameterTypes: string[] | undefined): unknown[] {
  const text = body.toString('utf8').trim();
  if (method === 'GET') {
    if (text !== '') throw new DubboInvalidRequestError('body', 'a GET call takes no body: use POST');
    if (parameterTypes !== undefined && parameterTypes.length > 0) {
      throw new DubboInvalidRequestError(
        'method',
        `GET calls methods without parameters: use POST for ${parameterTypes.length}`,
      );
    }
    return [];
  }
  if (text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DubboInvalidRequestError('body', `invalid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) {
    if (parameterTypes !== undefined && parameterTypes.length !== 1) {
      throw new DubboInvalidRequestError(
        'body',
        `a JSON object is the argument of a one-parameter method; send an array of ${parameterTypes.length} arguments`,
      );
    }
    return [value];
  }
  throw new DubboInvalidRequestError('body', 'expected a JSON array of arguments, or an object for one argument');
}

function attachmentsOf(headers: Record<string, string>): Attachments {
  const attachments: Attachments = {};
  for (const name of FORWARDED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) attachments[name] = value;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(ATTACHMENT_HEADER_PREFIX)) continue;
    const key = name.slice(ATTACHMENT_HEADER_PREFIX.length);
    if (key === '' || RESERVED_ATTACHMENTS.has(key)) {
      throw new DubboInvalidRequestError(name, `"${key}" is not an attachment a client may set`);
    }
    attachments[key] = value;
  }
  return attachments;
}

/** Lower-case names; repeated headers joined as HTTP allows (`, `). */
function headerObject(headers: ClusterRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]}, ${value}`;
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i] as string, headers[i + 1] as string);
  } else {
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) add(name, v);
    }
  }
  return out;
}

/** The whole body, up to `limit` bytes; a body the proxy refused keeps its error, one that broke off is a 400. */
async function readBody(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new DubboBodyTooLargeError(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (isPorticoError(err)) throw err;
    throw new DubboInvalidRequestError('body', `the request body broke off: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks, size);
}

/** A client error of the call, with the provider's argument complaints as 400. */
function providerError(err: unknown): unknown {
  if (
    err instanceof DubboStatusError &&
    err.dubboStatus === DubboStatus.SERVICE_ERROR &&
    PROVIDER_ARGUMENT_ERRORS.test(err.message)
  ) {
    return new DubboProviderArgumentError(stripEndpoint(err.message, err.endpoint), err.endpoint);
  }
  return err;
}

function stripEndpoint(message: string, endpoint: string | undefined): string {
  const suffix = endpoint === undefined ? '' : ` (dubbo provider ${endpoint})`;
  return suffix !== '' && message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

/** The JSON a client gets; a Java exception names its class and message apart too. */
function errorBody(err: PorticoError): unknown {
  if (err instanceof DubboServiceExceptionError) {
    const message = err.javaMessage === '' ? err.javaClass : `${err.javaClass}: ${err.javaMessage}`;
    return {
      error: {
        code: err.code,
        message,
        exception: { class: err.javaClass, message: err.javaMessage },
        details: err.details,
      },
    };
  }
  return err.toJSON();
}
