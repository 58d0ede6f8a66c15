/** Builders shared by the router tests: routes go through the real config schema, so defaults are the real ones. */
import { type Route, resourceSchemas } from '@portico/config';
import type { MatchInput, RouteTable } from '../src/index.ts';

export function route(name: string, spec: unknown, creationTimestamp?: string): Route {
  const metadata: Record<string, string> = { name };
  if (creationTimestamp !== undefined) metadata.creationTimestamp = creationTimestamp;
  return resourceSchemas.Route.parse({ apiVersion: 'portico.dev/v1', kind: 'Route', metadata, spec });
}

/** `target` is a path with an optional `?query`. */
export function req(
  target: string,
  init: { host?: string; method?: string; headers?: Record<string, string | string[]> } = {},
): MatchInput {
  const q = target.indexOf('?');
  return {
    host: init.host ?? 'example.com',
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
  };
}

/** `name#rule.match` of the winner, or null on a miss. */
export function winner(table: RouteTable, input: MatchInput): string | null {
  const r = table.match(input);
  return r === null ? null : `${r.route.metadata.name}#${r.ruleIndex}.${r.matchIndex}`;
}

/** The first backendRef name of the winning rule (how the conformance suite tells backends apart), or null. */
export function backend(table: RouteTable, input: MatchInput): string | null {
  const r = table.match(input);
  if (r === null) return null;
  return r.route.spec.rules[r.ruleIndex]!.backendRefs?.[0]?.name ?? '(none)';
}

/** A one-rule spec with a backend, for terse precedence fixtures. */
export function rule(backendName: string, matches?: unknown[]): unknown {
  return matches === undefined
    ? { backendRefs: [{ name: backendName }] }
    : { matches, backendRefs: [{ name: backendName }] };
}
