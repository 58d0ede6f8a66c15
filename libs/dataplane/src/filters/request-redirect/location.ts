import type { RouteFilter } from '@portico/config';
import { rewritePath } from '../url-rewrite/rewrite-path.ts';

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
