/**
 * Dubbo interface-level registrations: every provider is one child of `<dubboRoot>/<interface>/providers`, named by
 * its URL passed through Java's URLEncoder, e.g.
 * `dubbo%3A%2F%2F10.0.0.5%3A20880%2Fcom.example.DemoService%3Fapplication%3Ddemo%26methods%3DsayHello%2CsayHi...`.
 * Pure functions (no I/O), so a registration is checked the same way in tests and in the source.
 */

import { isIPv6 } from 'node:net';
import { type DiscoveredEndpoint, dubboServiceName } from '@portico/config';
import { hostProblem, parsePort } from './address.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Dubbo's default provider weight; Portico's 100 means "the registry's default" too. */
export const DUBBO_DEFAULT_WEIGHT = 100;
const MAX_WEIGHT = 1_000_000;

/** The inverse of Java's URLEncoder (`+` is a space, `%XX` UTF-8 bytes); undefined on a malformed escape. */
export function decodeJavaUrlComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

export interface DubboUrl {
  /** The scheme, lower case (`dubbo`, `tri`, ...). */
  protocol: string;
  /** IPv4, IPv6 (without brackets) or a host name. */
  host: string;
  port: number;
  /** Without the leading `/`. */
  path: string;
  /** Query parameters, in order; a repeated name keeps its last value. */
  params: Record<string, string>;
}

/** Parses a decoded Dubbo URL: `<protocol>://[user[:password]@]<host>:<port>[/<path>][?<k>=<v>&...]`. */
export function parseDubboUrl(url: string): Parsed<DubboUrl> {
  const q = url.indexOf('?');
  const head = parseHead(q < 0 ? url : url.slice(0, q));
  if (!head.ok) return head;
  const params = parseQuery(q < 0 ? '' : url.slice(q + 1), /&/, /=/, (text) => text);
  return { ok: true, value: { ...head.value, params: params ?? {} } };
}

/**
 * Parses a provider node name as it is (`dubbo%3A%2F%2F...%3Fk%3Dv%26...`): split on the encoded `?`, `&` and `=`
 * (raw ones too), then decode each piece. The same as decoding first, since an encoder turns every `?&=` of the URL
 * into `%3F %26 %3D` and a literal `%` into `%25`; but each value is then its own string rather than a slice that
 * keeps the whole decoded URL alive (~600 bytes per endpoint at 50,000 endpoints).
 */
function parseEncodedUrl(child: string): Parsed<DubboUrl> {
  const q = child.search(/\?|%3F/i);
  const head = decodeJavaUrlComponent(q < 0 ? child : child.slice(0, q));
  if (head === undefined) return fail('bad URL encoding');
  const parsed = parseHead(head);
  if (!parsed.ok) return parsed;
  const query = q < 0 ? '' : child.slice(q + (child[q] === '?' ? 1 : 3));
  const params = parseQuery(query, /&|%26/i, /=|%3D/i, decodeJavaUrlComponent);
  if (params === undefined) return fail('bad URL encoding');
  return { ok: true, value: { ...parsed.value, params } };
}

function parseHead(head: string): Parsed<Omit<DubboUrl, 'params'>> {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)([\s\S]*)$/.exec(head);
  if (m === null) return fail('not a URL ("<protocol>://<host>:<port>/..." expected)');
  const [, scheme = '', rawAuthority = '', rawPath = ''] = m;
  // Credentials never leave the parser.
  const authority = rawAuthority.slice(rawAuthority.lastIndexOf('@') + 1);
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return fail(`unclosed "[" in address "${authority}"`);
    host = authority.slice(1, end);
    if (!isIPv6(host)) return fail(`bad IPv6 address "${host}"`);
    const rest = authority.slice(end + 1);
    if (!rest.startsWith(':')) return fail(`missing port in "${authority}"`);
    portText = rest.slice(1);
  } else {
    // The last colon, as Dubbo does: an unbracketed IPv6 address still ends with its port.
    const colon = authority.lastIndexOf(':');
    if (colon < 0) return fail(authority === '' ? 'missing host' : `missing port in "${authority}"`);
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
  }
  const problem = hostProblem(host);
  if (problem !== undefined) return fail(problem);
  const port = parsePort(portText);
  if (port === undefined) return fail(`bad port "${portText}"`);
  return { ok: true, value: { protocol: scheme.toLowerCase(), host, port, path: rawPath.replace(/^\/+/, '') } };
}

/** `k=v&...` into an object (a repeated name keeps its last value); undefined when a piece doesn't decode. */
function parseQuery(
  query: string,
  amp: RegExp,
  eq: RegExp,
  decode: (text: string) => string | undefined,
): Record<string, string> | undefined {
  const params = new Map<string, string>();
  for (const pair of query.split(amp)) {
    if (pair === '') continue;
    const at = pair.search(eq);
    const rawKey = at < 0 ? pair : pair.slice(0, at);
    const key = decode(rawKey);
    if (key === undefined) return undefined;
    if (key === '') continue;
    // A bare `name` means name=name in Dubbo's own parser.
    const value = at < 0 ? key : decode(pair.slice(at + (pair[at] === '=' ? 1 : 3)));
    if (value === undefined) return undefined;
    params.set(key, value);
  }
  return Object.fromEntries(params);
}

export interface DubboProvider {
  /** `providers:<interface>:<version>:<group>`. */
  service: string;
  iface: string;
  version: string;
  group: string;
  endpoint: DiscoveredEndpoint;
}

/**
 * One child of `<dubboRoot>/<iface>/providers` as an endpoint of its service, or why it was left out: bad URL
 * encoding, a bad address or port, a consumer (or other category) URL, a protocol other than dubbo and tri, an
 * interface that doesn't match its directory, a weight that isn't a non-negative integer.
 */
export function parseDubboProvider(child: string, iface: string): Parsed<DubboProvider> {
  const parsed = parseEncodedUrl(child);
  if (!parsed.ok) return parsed;
  const url = parsed.value;
  const { params } = url;
  const side = params.side ?? 'provider';
  if (side !== 'provider') return fail(`side "${side}", not a provider`);
  if (params.category !== undefined && params.category !== 'providers')
    return fail(`category "${params.category}", not providers`);
  if (url.protocol !== 'dubbo' && url.protocol !== 'tri')
    return fail(`protocol "${url.protocol}" (only dubbo and tri are routed)`);
  const urlIface = params.interface ?? url.path;
  if (urlIface !== iface) return fail(`interface "${urlIface}" registered under "${iface}"`);
  let weight = DUBBO_DEFAULT_WEIGHT;
  if (params.weight !== undefined) {
    if (!/^[0-9]{1,10}$/.test(params.weight)) return fail(`bad weight "${params.weight}"`);
    weight = Math.min(Number(params.weight), MAX_WEIGHT);
  }
  const version = params.version ?? '';
  const group = params.group ?? '';
  return {
    ok: true,
    value: {
      service: dubboServiceName(iface, version, group),
      iface,
      version,
      group,
      endpoint: {
        address: url.host,
        port: url.port,
        weight,
        // Dubbo disables a provider with enabled=false or disabled=true.
        healthy: params.enabled !== 'false' && params.disabled !== 'true',
        protocol: url.protocol,
        metadata: params,
      },
    },
  };
}
