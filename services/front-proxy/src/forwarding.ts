/**
 * What a proxy changes in the request head on its way upstream (RFC 9110 §7.6): hop-by-hop fields go,
 * X-Forwarded-*, Forwarded and Via are added, a request id is kept or made.
 */
import { newRequestId } from '@portico/observability';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the HTTP/2 ones a compat request may carry. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // The proxy already answered 100-continue itself; undici refuses to send it.
  'expect',
  // Not hop-by-hop, but set on purpose by the proxy (kept, or rewritten by URLRewrite).
  'host',
]);

export type HeaderMap = Record<string, string | string[]>;
type IncomingHeaders = Record<string, string | string[] | undefined>;

function connectionListed(headers: IncomingHeaders): Set<string> | undefined {
  const value = headers.connection;
  // What nearly every peer sends names no field: skip the split.
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  const list = Array.isArray(value) ? value.join(',') : value;
  let set: Set<string> | undefined;
  for (const token of list.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    set ??= new Set();
    set.add(name);
  }
  return set;
}

/** Response heads lose hop-by-hop fields too (Node adds its own framing). */
export function endToEndResponseHeaders(headers: HeaderMap): HeaderMap {
  const listed = connectionListed(headers);
  const out: HeaderMap = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = headers[name]!;
  }
  return out;
}

export interface ClientInfo {
  ip: string;
  proto: 'http' | 'https';
  host: string;
  httpVersion: string;
}

function forwardedFor(ip: string): string {
  // RFC 7239 §6: IPv6 addresses are bracketed and quoted.
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

const REQUEST_ID = /^[A-Za-z0-9._:\-=+/]{1,200}$/;

/**
 * The upstream request head as a flat [name, value, ...] list (undici's fastest form): end-to-end fields of the
 * incoming head, then Host and the forwarding fields. One pass, no intermediate object.
 */
export function forwardedHeadList(
  headers: IncomingHeaders,
  client: ClientInfo,
  host: string,
  traceparent: string,
  requestId: string,
): string[] {
  const listed = headers.connection === undefined ? undefined : connectionListed(headers);
  const list: string[] = [];
  let xff: string | undefined;
  let forwarded: string | undefined;
  let via: string | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (listed?.has(name)) continue;
    switch (name) {
      case 'x-forwarded-for':
        xff = joined(value);
        continue;
      case 'forwarded':
        forwarded = joined(value);
        continue;
      case 'via':
        via = joined(value);
        continue;
      case 'x-request-id':
      case 'traceparent':
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
        continue;
    }
    if (typeof value === 'string') list.push(name, value);
    else for (const v of value) list.push(name, v);
  }
  if (headers.te === 'trailers') list.push('te', 'trailers');
  const hop = `for=${forwardedFor(client.ip)};host=${quoteIfNeeded(client.host)};proto=${client.proto}`;
  list.push(
    'host',
    host,
    'x-forwarded-for',
    xff === undefined ? client.ip : `${xff}, ${client.ip}`,
    'x-forwarded-proto',
    client.proto,
    'x-forwarded-host',
    client.host,
    'forwarded',
    forwarded === undefined ? hop : `${forwarded}, ${hop}`,
    'via',
    via === undefined ? ownVia(client.httpVersion) : `${via}, ${ownVia(client.httpVersion)}`,
    'x-request-id',
    requestId,
    'traceparent',
    traceparent,
  );
  return list;
}

/** The request id to pass on: the client's own when it is a sane token, else a new one. */
export function requestIdOf(headers: IncomingHeaders): string {
  const value = headers['x-request-id'];
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : newRequestId();
}

/** RFC 9110 §7.6.3: the protocol version as received ("2", not "2.0"), then our pseudonym. */
function ownVia(httpVersion: string): string {
  switch (httpVersion) {
    case '1.1':
      return '1.1 portico';
    case '2.0':
      return '2 portico';
    default:
      return `${httpVersion} portico`;
  }
}

function joined(value: string | string[]): string {
  return typeof value === 'string' ? value : value.join(', ');
}

// A proxy sees the same few Host values over and over: remember the last answer instead of testing each time.
let lastHost = '';
let lastQuoted = '';

function quoteIfNeeded(value: string): string {
  if (value === lastHost) return lastQuoted;
  lastQuoted = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(value) ? value : `"${value.replace(/"/g, '\\"')}"`;
  lastHost = value;
  return lastQuoted;
}
