/** From a request to its compiled rule: the request target, the authority, and the snapshot's match. */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { isPorticoError, type PorticoError } from '@portico/errors';
import type { RouteMatchResult } from '@portico/router';
import { hostOfAuthority, requestAuthority } from './authority.ts';
import { BadRequestError, NoRouteError, ProxyError } from './errors.ts';
import { DEFAULT_PATH_POLICY, type PathPolicy, parseTarget, type Target } from './paths.ts';
import type { CompiledRule, Snapshot } from './snapshot/snapshot.ts';

export type ProxyRequest = IncomingMessage | Http2ServerRequest;

export interface Resolved {
  target: Target;
  /** The authority that was matched, as the client sent it: the Host to forward (absolute-form's wins). */
  authority: string;
  host: string;
  method: string;
  match: RouteMatchResult<CompiledRule>;
  rule: CompiledRule;
}

/** Request target, host and the matching rule of the snapshot; the error to answer with when there is none. */
export function resolveRoute(
  snapshot: Snapshot,
  req: ProxyRequest,
  pathPolicy: Readonly<PathPolicy> = DEFAULT_PATH_POLICY,
): Resolved | PorticoError {
  let target: Target;
  try {
    target = parseTarget(req.url ?? '/', pathPolicy);
  } catch (err) {
    return toProxyError(err);
  }
  const authority = requestAuthority(req, target.authority);
  if (typeof authority !== 'string') return authority;
  const host = hostOfAuthority(authority);
  if (host === '') return new BadRequestError('missing Host header', [{ path: 'host', message: 'required' }]);
  const method = req.method ?? 'GET';
  const match = snapshot.table.match({ host, path: target.path, query: target.query, method, headers: req.headers });
  if (match === null) return new NoRouteError(host, target.path);
  return { target, authority, host, method, match, rule: match.rule };
}

export function toProxyError(err: unknown): PorticoError {
  if (isPorticoError(err)) return err;
  return new ProxyError('PORTICO_ERR_PROXY_INTERNAL', 'internal proxy error', { status: 500, cause: err });
}

/** The socket peer's address, IPv4-mapped IPv6 written as IPv4. */
export function clientIp(req: ProxyRequest): string {
  const ip = req.socket?.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
