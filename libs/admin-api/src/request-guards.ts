/**
 * Checks that refuse a request the admin API cannot attribute to an operator talking to it directly: one sent
 * through a proxy, by a page of another origin (CSRF), to a name this listener does not serve (DNS rebinding),
 * or a write with a body type a browser sends cross-site without a preflight.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  AdminForbiddenOriginError,
  AdminMisdirectedError,
  AdminProxiedError,
  AdminUnsupportedMediaTypeError,
} from './errors.ts';

type Headers = NodeJS.Dict<string[]>;

/** Body types a write may carry: none of them is CORS-safelisted, so a cross-site page must preflight. */
export const WRITE_MEDIA_TYPES: readonly string[] = [
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'text/x-yaml',
];

/** Headers an intermediary adds; an operator who fronts the API with their own proxy sets acceptForwarded. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip'];

export function checkContentType(headers: IncomingHttpHeaders): void {
  const value = headers['content-type'];
  const type = value === undefined ? '' : value.split(';', 1)[0]!.trim().toLowerCase();
  if (!WRITE_MEDIA_TYPES.includes(type)) throw new AdminUnsupportedMediaTypeError(value, WRITE_MEDIA_TYPES);
}

/**
 * Portico's proxy always appends its own Via entry (`1.1 portico`), so a request that crossed it is refused
 * whatever the options say: the admin API must never be reachable from the public port.
 */
export function checkProxied(headers: Headers, acceptForwarded: boolean): void {
  for (const value of headers.via ?? []) {
    // Comments may hold commas: drop them before splitting the list.
    for (const entry of value.replace(/\([^)]*\)/g, '').split(',')) {
      const receivedBy = entry.trim().split(/[ \t]+/)[1];
      if (receivedBy !== undefined && receivedBy.split(':', 1)[0]!.toLowerCase() === 'portico')
        throw new AdminProxiedError('via', 'came through a Portico proxy; call the admin listener directly');
    }
  }
  if (acceptForwarded) return;
  for (const name of FORWARDING_HEADERS)
    if (headers[name] !== undefined)
      throw new AdminProxiedError(name, 'forwarding headers are refused unless the acceptForwarded option is set');
}

export interface HostPolicy {
  /** The listener's port. */
  port: number;
  /** Names served at the listener's port (or with no port): loopback names and the bound address. */
  names: ReadonlySet<string>;
  /** Operator names: `name` (any port) or `name:port`. */
  allowed: readonly { host: string; port: number | undefined }[];
}

interface Authority {
  host: string;
  port: number | undefined;
}

/** `host[:port]` with an IP literal in brackets, lower-cased; undefined when it is not one. */
export function parseAuthority(value: string): Authority | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?$/.exec(value.toLowerCase());
  if (m === null) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1]!, port };
}

/** An address as it appears in a Host header: IPv6 in brackets, IPv4-mapped IPv6 as IPv4. */
export function hostForm(address: string): string {
  const a = address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return a.includes(':') ? `[${a}]` : a;
}

function served(policy: HostPolicy, local: string | undefined, a: Authority, port: number | undefined): boolean {
  if ((policy.names.has(a.host) || a.host === local) && (port === undefined || port === policy.port)) return true;
  return policy.allowed.some((e) => e.host === a.host && (e.port === undefined || e.port === port));
}

/** The Host must name this listener: with the listener's port, or no port, or an allowedHosts entry. */
export function checkHost(headers: Headers, policy: HostPolicy, localAddress: string | undefined): void {
  const values = headers.host ?? [];
  if (values.length !== 1) throw new AdminMisdirectedError(values[0], 'exactly one Host header is required');
  const a = parseAuthority(values[0]!);
  const local = localAddress === undefined ? undefined : hostForm(localAddress);
  if (a === undefined || !served(policy, local, a, a.port))
    throw new AdminMisdirectedError(
      values[0],
      `must be one of localhost, 127.0.0.1, [::1] or the address the listener is bound to (with port ${policy.port} or none), or an allowedHosts entry`,
    );
}

/**
 * A browser names the page that sent a request in Origin (and Sec-Fetch-Site). Only the admin API's own origins
 * pass: http(s) with a served name and the listener's port. The CLI and curl send neither header.
 */
export function checkOrigin(headers: Headers, policy: HostPolicy, localAddress: string | undefined): void {
  for (const site of headers['sec-fetch-site'] ?? [])
    if (site === 'cross-site' || site === 'same-site') throw new AdminForbiddenOriginError('sec-fetch-site', site);
  const local = localAddress === undefined ? undefined : hostForm(localAddress);
  for (const origin of headers.origin ?? []) {
    const m = /^(https?):\/\/([^/?#]+)$/i.exec(origin);
    const a = m === null ? undefined : parseAuthority(m[2]!);
    if (m === null || a === undefined) throw new AdminForbiddenOriginError('origin', origin);
    const port = a.port ?? (m[1]!.toLowerCase() === 'https' ? 443 : 80);
    if (!served(policy, local, a, port)) throw new AdminForbiddenOriginError('origin', origin);
  }
}
