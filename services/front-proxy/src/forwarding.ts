/**
 * What a proxy changes in the request head on its way upstream (RFC 9110 §7.6): hop-by-hop fields go,
 * X-Forwarded-*, Forwarded and Via are added, a request id is kept or made.
 */
import { randomUUID } from 'node:crypto';

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
  if (value === undefined) return undefined;
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

/** A copy of the incoming head without hop-by-hop fields, HTTP/2 pseudo-headers or fields named in Connection. */
export function endToEndHeaders(headers: IncomingHeaders): HeaderMap {
  const listed = connectionListed(headers);
  const out: HeaderMap = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (listed?.has(name)) continue;
    out[name] = value;
  }
  // `te: trailers` is end-to-end in practice: gRPC needs it to reach the backend.
  if (headers.te === 'trailers') out.te = 'trailers';
  return out;
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

function append(existing: string | string[] | undefined, value: string): string {
  if (existing === undefined) return value;
  return `${Array.isArray(existing) ? existing.join(', ') : existing}, ${value}`;
}

const REQUEST_ID = /^[A-Za-z0-9._:\-=+/]{1,200}$/;

/** Adds the forwarding fields in place and returns the request id used. */
export function addForwardingHeaders(headers: HeaderMap, client: ClientInfo): string {
  headers['x-forwarded-for'] = append(headers['x-forwarded-for'], client.ip);
  headers['x-forwarded-proto'] = client.proto;
  headers['x-forwarded-host'] = client.host;
  headers.forwarded = append(
    headers.forwarded,
    `for=${forwardedFor(client.ip)};host=${quoteIfNeeded(client.host)};proto=${client.proto}`,
  );
  headers.via = append(headers.via, `${client.httpVersion === '2.0' ? '2' : client.httpVersion} portico`);
  const incoming = headers['x-request-id'];
  let id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : undefined;
  if (id === undefined) {
    id = randomUUID();
    headers['x-request-id'] = id;
  }
  return id;
}

function quoteIfNeeded(value: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(value) ? value : `"${value.replace(/"/g, '\\"')}"`;
}
