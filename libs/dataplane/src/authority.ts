/**
 * The authority a request is for (RFC 9110 §7.2, RFC 9112 §3.2, RFC 9113 §8.3.1), decided once and used both to
 * match and as the Host sent upstream, so a backend never sees another host than the one the proxy routed on.
 *
 * - HTTP/1.x: exactly one Host field line (Node keeps the first of several in `req.headers`, so the raw list is
 *   counted); HTTP/1.1 without Host is a 400 (RFC 9112 §3.2). An absolute-form target's authority replaces Host
 *   (§3.2.2): it is what is matched and forwarded; Host must still be well formed.
 * - HTTP/2: `:authority` wins; a `host` field naming another authority is a 400 (compared case-insensitively, a
 *   default port equal to none); without `:authority`, `host` is used. nghttp2 already refuses duplicates.
 * - The value is host [":" port]: a bracketed IPv6 literal (no zone id, no IPvFuture), or a name of letters,
 *   digits, `-`, `.`, `_` and `~`. That is RFC 3986's reg-name without sub-delims and %-escapes: both are legal
 *   there, name no DNS host, and some backends read `,` or `;` in Host as list separators or decode the escapes
 *   into another name than the one matched. userinfo (`@`) is refused (RFC 9110 §4.2.4). The port is digits up
 *   to 65535, or empty.
 */
import { isIPv6 } from 'node:net';
import { BadRequestError } from './errors.ts';
import { isUnreserved } from './paths.ts';

interface AuthorityRequest {
  url?: string | undefined;
  httpVersionMajor: number;
  httpVersionMinor: number;
  headers: { host?: string | undefined; [name: string]: string | string[] | undefined };
  rawHeaders: string[];
}

function refuse(message: string, value: string): BadRequestError {
  return new BadRequestError(message, [{ path: 'host', message: value.slice(0, 200) }]);
}

/**
 * The authority to match and forward, or the 400 to answer with. `absolute` is the authority of an absolute-form
 * target (Target.authority), when the request had one.
 */
export function requestAuthority(req: AuthorityRequest, absolute?: string): string | BadRequestError {
  const headers = req.headers;
  if (req.httpVersionMajor === 2) {
    if (absolute !== undefined) return refuse('absolute-form :path is not allowed in HTTP/2', absolute);
    const authority = headers[':authority'] as string | undefined;
    const host = headers.host as string | undefined;
    if (authority === undefined) return host === undefined ? missingHost() : checked(host);
    const error = checkAuthority(authority);
    if (error !== undefined) return error;
    if (host !== undefined && host !== authority) {
      const scheme = headers[':scheme'] === 'https' ? 'https' : 'http';
      if (comparable(host, scheme) !== comparable(authority, scheme))
        return refuse(`host "${host.slice(0, 100)}" disagrees with :authority`, authority);
    }
    return authority;
  }
  const host = headers.host;
  if (host === undefined) {
    // HTTP/1.0 may send no Host; an absolute-form target still names one.
    if (absolute !== undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return checked(absolute);
    return missingHost();
  }
  if (countHost(req.rawHeaders) > 1) return refuse('more than one Host header', host);
  const error = checkAuthority(host);
  if (error !== undefined) return error;
  return absolute === undefined ? host : checked(absolute);
}

function missingHost(): BadRequestError {
  return new BadRequestError('missing Host header', [{ path: 'host', message: 'required' }]);
}

function checked(authority: string): string | BadRequestError {
  return checkAuthority(authority) ?? authority;
}

function countHost(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) n++;
  }
  return n;
}

// A proxy sees the same few authorities over and over: the last one found valid skips the scan.
let lastValid = '';
let lastHost = '';

/** Undefined when `authority` is well formed (see the file header), else the 400. */
export function checkAuthority(authority: string): BadRequestError | undefined {
  if (authority === lastValid) return undefined;
  const error = validate(authority);
  if (error === undefined) {
    lastValid = authority;
    lastHost = hostPart(authority);
  }
  return error;
}

function validate(authority: string): BadRequestError | undefined {
  if (authority === '') return refuse('empty Host', authority);
  let i = 0;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    if (close === -1) return refuse('unterminated IPv6 literal in Host', authority);
    const literal = authority.slice(1, close);
    if (literal.includes('%') || !isIPv6(literal)) return refuse('invalid IPv6 literal in Host', authority);
    i = close + 1;
  } else {
    for (; i < authority.length; i++) {
      const c = authority.charCodeAt(i);
      if (c === 58 /* : */) break;
      if (!isUnreserved(c)) return refuse('invalid character in Host', authority);
    }
    if (i === 0) return refuse('Host has no host name', authority);
  }
  if (i === authority.length) return undefined;
  if (authority.charCodeAt(i) !== 58) return refuse('invalid character in Host', authority);
  const port = authority.slice(i + 1);
  if (port.length > 5 || !/^[0-9]*$/.test(port) || Number(port) > 65535)
    return refuse('invalid port in Host', authority);
  return undefined;
}

/** The host a route's hostnames are matched against: lowercase, no port, no trailing dot. */
export function hostOfAuthority(authority: string): string {
  if (authority === lastValid) return lastHost;
  return hostPart(authority);
}

function hostPart(raw: string): string {
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* [ */) end = raw.indexOf(']') + 1;
  else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  let host = raw.slice(0, end);
  // `example.com.` is the same name as `example.com`.
  if (host.charCodeAt(host.length - 1) === 46) host = host.slice(0, -1);
  return host === host.toLowerCase() ? host : host.toLowerCase();
}

/** RFC 9113 §8.3.1 compares authorities normalized (RFC 3986 §6.2.3): case, and the scheme's default port. */
function comparable(authority: string, scheme: 'http' | 'https'): string {
  let value = authority.toLowerCase();
  const port = scheme === 'https' ? ':443' : ':80';
  if (value.endsWith(port)) value = value.slice(0, -port.length);
  else if (value.endsWith(':')) value = value.slice(0, -1);
  return value;
}
