/** Gateway API HTTPRoute filters compiled once per snapshot into small closures and plain data. */
import { type HeaderModifier, type PathModifier, PROXY_OWNED_REQUEST_HEADERS, type RouteFilter } from '@portico/config';
import type { HeaderMap } from './forwarding.ts';
import { replacePrefix } from './paths.ts';

export type HeaderEdit = (headers: HeaderMap) => void;
export type HeadListEdit = (list: string[]) => void;

/**
 * The same edit on a flat [name, value, ...] list (the upstream request head). Fields the proxy owns (Via,
 * X-Forwarded-*, framing) are left alone: config validation refuses them, and this keeps it so whatever the input.
 */
export function compileHeadListModifier(mod: HeaderModifier): HeadListEdit {
  const own = (name: string) => !PROXY_OWNED_REQUEST_HEADERS.has(name);
  const set = (mod.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const).filter(([n]) => own(n));
  const add = (mod.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const).filter(([n]) => own(n));
  const drop = new Set([...(mod.remove ?? []).map((n) => n.toLowerCase()).filter(own), ...set.map(([n]) => n)]);
  return (list) => {
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (drop.has(list[r]!.toLowerCase())) continue;
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
    list.length = w;
    for (const [name, value] of set) list.push(name, value);
    for (const [name, value] of add) {
      const at = list.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === name);
      if (at === -1) list.push(name, value);
      else list[at + 1] = `${list[at + 1]},${value}`;
    }
  };
}

/** set replaces, add appends (comma-joined, as the Gateway API examples show), remove deletes; names are case-insensitive. */
export function compileHeaderModifier(mod: HeaderModifier): HeaderEdit {
  const set = (mod.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const add = (mod.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const);
  const remove = (mod.remove ?? []).map((n) => n.toLowerCase());
  return (headers) => {
    for (const [name, value] of set) headers[name] = value;
    for (const [name, value] of add) {
      const existing = headers[name];
      headers[name] =
        existing === undefined ? value : `${Array.isArray(existing) ? existing.join(',') : existing},${value}`;
    }
    for (const name of remove) delete headers[name];
  };
}

export function rewritePath(path: string, modifier: PathModifier, matchedPrefix: string | undefined): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.replaceFullPath;
  return replacePrefix(path, matchedPrefix ?? '', modifier.replacePrefixMatch);
}

export interface RedirectInput {
  scheme: 'http' | 'https';
  host: string;
  /** The listener port the request came in on. */
  port: number;
  path: string;
  query: string;
  matchedPrefix: string | undefined;
}

type RedirectSpec = Extract<RouteFilter, { type: 'RequestRedirect' }>['requestRedirect'];

/** The Location of a RequestRedirect, with the Gateway API port rules: a changed scheme implies its well-known port. */
export function redirectLocation(spec: RedirectSpec, req: RedirectInput): string {
  const scheme = spec.scheme ?? req.scheme;
  const host = spec.hostname ?? req.host;
  let port: number;
  if (spec.port !== undefined) port = spec.port;
  else if (spec.scheme !== undefined) port = scheme === 'https' ? 443 : 80;
  else port = req.port;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const path = spec.path ? rewritePath(req.path, spec.path, req.matchedPrefix) : req.path;
  const authority = port === defaultPort ? host : `${host}:${port}`;
  return `${scheme}://${authority}${path}${req.query ? `?${req.query}` : ''}`;
}

type CorsSpec = Extract<RouteFilter, { type: 'CORS' }>['cors'];

export interface CompiledCors {
  /** The Access-Control-Allow-Origin value for this origin, or undefined if it is not allowed. */
  allowOrigin(origin: string): string | undefined;
  credentials: boolean;
  allowMethods: string;
  allowHeaders: string | undefined;
  exposeHeaders: string | undefined;
  maxAge: string;
}

function originMatcher(pattern: string): (origin: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (origin) => origin === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^.]+')}$`,
  );
  return (origin) => re.test(origin);
}

export function compileCors(spec: CorsSpec): CompiledCors {
  const matchers = (spec.allowOrigins ?? []).map(originMatcher);
  const anyOrigin = (spec.allowOrigins ?? []).includes('*');
  const credentials = spec.allowCredentials === true;
  return {
    allowOrigin(origin) {
      if (!matchers.some((m) => m(origin))) return undefined;
      // A credentialed response may not use "*" (Fetch standard), so echo the origin then.
      return anyOrigin && !credentials ? '*' : origin;
    },
    credentials,
    allowMethods: (spec.allowMethods ?? ['GET', 'HEAD', 'POST']).join(', '),
    allowHeaders: spec.allowHeaders?.join(', '),
    exposeHeaders: spec.exposeHeaders?.join(', '),
    maxAge: String(spec.maxAge),
  };
}
