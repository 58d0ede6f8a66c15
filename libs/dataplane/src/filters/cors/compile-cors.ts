import type { RouteFilter } from '@portico/config';

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
