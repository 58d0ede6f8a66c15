/**
 * CORS: answers preflights (OPTIONS with Access-Control-Request-Method) itself, and adds the allow headers to
 * answers for an allowed Origin. A preflight for an origin not allowed gets a 200 without allow headers: the
 * browser refuses it, and the backend never sees it.
 */
import type { HeaderMap } from '../../forwarding.ts';
import type { FilterModule } from '../filter.ts';
import { type CompiledCors, compileCors } from './compile-cors.ts';

export const cors: FilterModule<'CORS'> = {
  type: 'CORS',
  compile(filter) {
    const c = compileCors(filter.cors);
    return {
      request(ex) {
        const req = ex.req;
        const origin = req.headers.origin;
        if (typeof origin !== 'string' || ex.resolved.method !== 'OPTIONS') return false;
        if (req.headers['access-control-request-method'] === undefined) return false;
        ex.respond(200, preflightHeaders(c, c.allowOrigin(origin), req.headers['access-control-request-headers']));
        return true;
      },
      response(headers, ex) {
        const origin = ex.req.headers.origin;
        if (typeof origin !== 'string') return;
        const allowed = c.allowOrigin(origin);
        if (allowed !== undefined) addCorsHeaders(headers, c, allowed);
      },
    };
  },
};

function preflightHeaders(c: CompiledCors, allowOrigin: string | undefined, requestHeaders: unknown): HeaderMap {
  const headers: HeaderMap = { 'content-length': '0', vary: 'Origin' };
  if (allowOrigin === undefined) return headers;
  headers['access-control-allow-origin'] = allowOrigin;
  headers['access-control-allow-methods'] = c.allowMethods;
  const allowHeaders = c.allowHeaders === '*' && typeof requestHeaders === 'string' ? requestHeaders : c.allowHeaders;
  if (allowHeaders !== undefined) headers['access-control-allow-headers'] = allowHeaders;
  headers['access-control-max-age'] = c.maxAge;
  if (c.credentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

function addCorsHeaders(out: HeaderMap, c: CompiledCors, origin: string): void {
  out['access-control-allow-origin'] = origin;
  if (c.credentials) out['access-control-allow-credentials'] = 'true';
  if (c.exposeHeaders !== undefined) out['access-control-expose-headers'] = c.exposeHeaders;
  const vary = out.vary;
  out.vary = vary === undefined ? 'Origin' : `${Array.isArray(vary) ? vary.join(', ') : vary}, Origin`;
}
