/**
 * What a proxy changes in the request head on its way upstream (RFC 9110 §7.6): hop-by-hop fields go,
 * X-Forwarded-*, Forwarded, X-Real-IP and Via are added, a request id is kept or made. Who the client is depends
 * on trusted proxies: only a trusted peer's X-Forwarded-For is believed (and kept); anyone else's is dropped.
 */
import { BlockList, isIP } from 'node:net';
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
  /** The socket peer: the hop that connected to us, appended to X-Forwarded-For and Forwarded. */
  ip: string;
  /** The client as clientAddress() decided it: sent as X-Real-IP. */
  client: string;
  /** The peer is a trusted proxy: its X-Forwarded-For and Forwarded are kept and appended to, not dropped. */
  trustedPeer: boolean;
  proto: 'http' | 'https';
  host: string;
  httpVersion: string;
}

/**
 * The proxies whose X-Forwarded-For is believed (the `trustedProxies` option), parsed once. Build it with
 * trustedProxiesFrom(): an empty list gives undefined, so the common case tests nothing per request.
 */
export class TrustedProxies {
  readonly #list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const [i, entry] of cidrs.entries()) {
      const fail = () => {
        throw new TypeError(
          `trustedProxies[${i}] must be an IP address or a CIDR range (10.0.0.0/8, fd00::/8), got ${JSON.stringify(entry)}`,
        );
      };
      if (typeof entry !== 'string') fail();
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      if (family === 0) fail();
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (slash === -1) {
        this.#list.addAddress(address, type);
        continue;
      }
      const bits = entry.slice(slash + 1);
      const prefix = Number(bits);
      if (!/^\d{1,3}$/.test(bits) || prefix > (family === 6 ? 128 : 32)) fail();
      this.#list.addSubnet(address, prefix, type);
    }
  }

  /** `ip` as a socket or X-Forwarded-For gives it (IPv4-mapped IPv6 matches IPv4 ranges). */
  has(ip: string): boolean {
    return this.#list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
  }
}

export function trustedProxiesFrom(cidrs: readonly string[] | undefined): TrustedProxies | undefined {
  if (cidrs === undefined) return undefined;
  if (!Array.isArray(cidrs)) throw new TypeError('trustedProxies must be an array of IP addresses or CIDR ranges');
  return cidrs.length === 0 ? undefined : new TrustedProxies(cidrs);
}

/**
 * The client address: the socket peer, unless the peer is a trusted proxy; then the right-most address of
 * X-Forwarded-For that is not a trusted proxy (each hop appends, so only entries right of the first untrusted one
 * were written by proxies we trust). When every hop is trusted, the left-most; at an entry that is not an address,
 * the last trusted hop before it.
 */
export function clientAddress(socketIp: string, headers: IncomingHeaders, trusted: TrustedProxies | undefined): string {
  if (trusted === undefined || !trusted.has(socketIp)) return socketIp;
  const value = headers['x-forwarded-for'];
  if (value === undefined) return socketIp;
  const list = typeof value === 'string' ? value : value.join(',');
  let client = socketIp;
  let end = list.length;
  while (end >= 0) {
    const start = list.lastIndexOf(',', end - 1) + 1;
    const address = addressOf(list.slice(start, end));
    if (address === undefined) return client;
    client = address;
    if (!trusted.has(address)) return address;
    end = start - 1;
  }
  return client;
}

/** The ClientInfo of a request: whether the peer is trusted is asked only when trusted proxies are configured. */
export function forwardingClient(
  peer: string,
  client: string,
  trusted: TrustedProxies | undefined,
  proto: 'http' | 'https',
  host: string,
  httpVersion: string,
): ClientInfo {
  return { ip: peer, client, trustedPeer: trusted?.has(peer) === true, proto, host, httpVersion };
}

/** An X-Forwarded-For entry as an address: trimmed, `[v6]`, `[v6]:port` and `v4:port` forms accepted. */
function addressOf(entry: string): string | undefined {
  let a = entry.trim();
  if (a.charCodeAt(0) === 91 /* '[' */) {
    const close = a.indexOf(']');
    a = close === -1 ? '' : a.slice(1, close);
  } else {
    const colon = a.indexOf(':');
    if (colon !== -1 && colon === a.lastIndexOf(':')) a = a.slice(0, colon);
  }
  if (isIP(a) === 0) return undefined;
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function forwardedFor(ip: string): string {
  // RFC 7239 §6: IPv6 addresses are bracketed and quoted.
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

const REQUEST_ID = /^[A-Za-z0-9._:\-=+/]{1,200}$/;
/** One host[:port] (a name or a bracketed IPv6 literal): never a list, never anything a backend could split. */
const FORWARDED_HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The upstream request head as a flat [name, value, ...] list (undici's fastest form): end-to-end fields of the
 * incoming head, then Host and the forwarding fields. One pass, no intermediate object. An untrusted peer's
 * X-Forwarded-For, Forwarded and X-Real-IP are dropped (a client can't name its own address); a trusted peer's
 * X-Forwarded-For and Forwarded are appended to, and its X-Forwarded-Proto (http or https) and X-Forwarded-Host
 * (one host) are kept: they say what the client used before the proxy in front. X-Real-IP is always the decided
 * client.
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
  // What a trusted proxy in front saw: the scheme and host the client used (a TLS-terminating load balancer).
  let proto: string = client.proto;
  let forwardedHost = client.host;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (listed?.has(name)) continue;
    switch (name) {
      case 'x-forwarded-for':
        if (client.trustedPeer) xff = joined(value);
        continue;
      case 'forwarded':
        if (client.trustedPeer) forwarded = joined(value);
        continue;
      case 'via':
        via = joined(value);
        continue;
      case 'x-forwarded-proto':
        if (client.trustedPeer && (value === 'https' || value === 'http')) proto = value;
        continue;
      case 'x-forwarded-host':
        if (client.trustedPeer && typeof value === 'string' && FORWARDED_HOST.test(value)) forwardedHost = value;
        continue;
      case 'x-real-ip':
      case 'x-request-id':
      case 'traceparent':
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
    proto,
    'x-forwarded-host',
    forwardedHost,
    'forwarded',
    forwarded === undefined ? hop : `${forwarded}, ${hop}`,
    'x-real-ip',
    client.client,
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
