/**
 * HTTP headers to gRPC metadata and back, and the call deadline.
 *
 * Request: a header becomes metadata when its name is in the allow-list (sent under the same name) or starts with
 * the prefix (sent with the prefix stripped: `grpc-metadata-tenant: a` arrives as `tenant: a`, as grpc-gateway
 * does). Never sent, whatever the options: hop-by-hop headers (and those the `connection` header names), `host`,
 * `content-length`, `content-type`, `te`, `user-agent`, pseudo-headers and every `grpc-*` name (grpc-js and the
 * protocol own them; `grpc-timeout` is read by parseGrpcTimeout). A `-bin` header's value is base64 and is sent
 * as its bytes.
 *
 * Response: response metadata becomes `grpc-metadata-<key>` headers and trailers `grpc-trailer-<key>` headers, as
 * grpc-gateway names them; binary values are base64. The protocol's own keys (`grpc-*`, `content-type`, `date`)
 * are not forwarded.
 */
import { Metadata } from '@grpc/grpc-js';
import { GrpcCallOptionError, GrpcMetadataHeaderError, GrpcTimeoutHeaderError } from './errors.ts';

export type HttpHeaderValue = string | string[] | undefined;
export type HttpHeaders = Record<string, HttpHeaderValue>;

/** Request headers forwarded by default: credentials and trace context. */
export const DEFAULT_METADATA_ALLOW: readonly string[] = [
  'authorization',
  'x-request-id',
  'traceparent',
  'tracestate',
  'baggage',
];

/** Request headers with this prefix are forwarded with it stripped; response metadata gets it added. */
export const METADATA_HEADER_PREFIX = 'grpc-metadata-';
/** Trailers are returned as headers with this prefix. */
export const TRAILER_HEADER_PREFIX = 'grpc-trailer-';

const NEVER_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'te',
  'host',
  'content-length',
  'content-type',
  'user-agent',
]);

/** Response metadata keys that describe the gRPC transport, not the call. */
const NOT_RETURNED = new Set(['content-type', 'date']);

/** What gRPC accepts as a metadata key. */
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
/** What gRPC accepts as an ASCII metadata value: printable ASCII and space. */
const LEGAL_ASCII_VALUE = /^[ -~]*$/;
/** Standard or URL-safe base64, padded or not. */
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;

export interface MetadataMappingOptions {
  /** Header names (any case) forwarded under their own name. Default DEFAULT_METADATA_ALLOW. */
  allow?: readonly string[];
  /** Headers starting with this (any case) are forwarded with it stripped. Default `grpc-metadata-`; '' = none. */
  prefix?: string;
}

function isReserved(name: string): boolean {
  return name.startsWith(':') || name.startsWith('grpc-') || NEVER_FORWARDED.has(name);
}

/**
 * Builds the request-header-to-metadata function for one set of options, checked once here.
 * The function throws GrpcMetadataHeaderError (400) for a chosen header gRPC cannot carry.
 */
export function requestMetadataMapper(options: MetadataMappingOptions = {}): (headers: HttpHeaders) => Metadata {
  const allow = new Set<string>();
  for (const name of options.allow ?? DEFAULT_METADATA_ALLOW) {
    const lower = name.toLowerCase();
    if (!LEGAL_KEY.test(lower)) throw new GrpcCallOptionError('allow', `has "${name}", not a legal gRPC metadata key`);
    if (isReserved(lower)) throw new GrpcCallOptionError('allow', `has "${name}", which is never forwarded`);
    allow.add(lower);
  }
  const prefix = (options.prefix ?? METADATA_HEADER_PREFIX).toLowerCase();
  if (prefix !== '' && !/^[0-9a-z_.-]+$/.test(prefix)) {
    throw new GrpcCallOptionError('prefix', 'must be lowercase letters, digits, "-", "_" or "."');
  }

  return (headers) => {
    const metadata = new Metadata();
    const hopByHop = hopByHopNamed(headers);
    for (const [header, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      const name = header.toLowerCase();
      let key: string;
      if (allow.has(name)) key = name;
      else if (prefix !== '' && name.startsWith(prefix) && name.length > prefix.length) key = name.slice(prefix.length);
      else continue;
      if (isReserved(key) || hopByHop.has(name) || hopByHop.has(key)) continue;
      if (!LEGAL_KEY.test(key)) throw new GrpcMetadataHeaderError(header, `"${key}" is not a legal gRPC metadata key`);
      for (const one of Array.isArray(value) ? value : [value]) addValue(metadata, header, key, one);
    }
    return metadata;
  };
}

function addValue(metadata: Metadata, header: string, key: string, value: string): void {
  if (key.endsWith('-bin')) {
    // One header may carry several comma-separated values (RFC 9110 list syntax).
    for (const part of value.split(',')) {
      const text = part.trim();
      if (!BASE64.test(text) || text.length % 4 === 1) throw new GrpcMetadataHeaderError(header, 'value is not base64');
      // Node's base64 decoder reads both alphabets.
      metadata.add(key, Buffer.from(text, 'base64'));
    }
    return;
  }
  if (!LEGAL_ASCII_VALUE.test(value)) {
    throw new GrpcMetadataHeaderError(header, 'value has characters outside printable ASCII');
  }
  metadata.add(key, value);
}

/** Headers that the request's own `connection` header declares hop-by-hop. */
function hopByHopNamed(headers: HttpHeaders): ReadonlySet<string> {
  const connection = headers.connection ?? headers.Connection;
  if (connection === undefined) return NONE;
  const names = new Set<string>();
  for (const list of Array.isArray(connection) ? connection : [connection]) {
    for (const name of list.split(',')) names.add(name.trim().toLowerCase());
  }
  return names;
}
const NONE: ReadonlySet<string> = new Set<string>();

/** Response metadata as `grpc-metadata-<key>` headers. */
export function headersFromResponseMetadata(metadata: Metadata): Record<string, string[]> {
  return metadataToHeaders(metadata, METADATA_HEADER_PREFIX);
}

/** Trailing metadata as `grpc-trailer-<key>` headers. */
export function headersFromTrailers(metadata: Metadata): Record<string, string[]> {
  return metadataToHeaders(metadata, TRAILER_HEADER_PREFIX);
}

function metadataToHeaders(metadata: Metadata, prefix: string): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const key of Object.keys(metadata.getMap())) {
    if (key.startsWith('grpc-') || NOT_RETURNED.has(key)) continue;
    headers[prefix + key] = metadata
      .get(key)
      .map((value) => (typeof value === 'string' ? value : Buffer.from(value).toString('base64')));
  }
  return headers;
}

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const MS_PER_UNIT: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * A `grpc-timeout` value in milliseconds (rounded up), strict per the gRPC over HTTP/2 spec: 1 to 8 ASCII digits
 * then one unit, H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds. Throws
 * GrpcTimeoutHeaderError (400) for anything else.
 */
export function parseGrpcTimeout(value: string): number {
  const match = TIMEOUT.exec(value);
  if (match === null) throw new GrpcTimeoutHeaderError(value);
  return Math.ceil(Number(match[1]) * MS_PER_UNIT[match[2]!]!);
}

/**
 * The call's timeout in ms from now: the smaller of the route's timeout and the client's `grpc-timeout` header;
 * undefined when neither is set. The header cannot lengthen what the route allows.
 */
export function callTimeoutMs(routeTimeoutMs: number | undefined, grpcTimeout: HttpHeaderValue): number | undefined {
  const header = Array.isArray(grpcTimeout) ? grpcTimeout[0] : grpcTimeout;
  const fromHeader = header === undefined ? undefined : parseGrpcTimeout(header);
  if (routeTimeoutMs === undefined) return fromHeader;
  if (fromHeader === undefined) return routeTimeoutMs;
  return Math.min(routeTimeoutMs, fromHeader);
}
