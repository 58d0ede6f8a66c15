/**
 * One (route, rule, match) after compilation: everything match() needs, precomputed, plus the sort keys of the
 * Gateway API precedence order.
 */
import type { Route, RouteMatch } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';

export interface RouteMatchResult<R = unknown> {
  route: Route;
  ruleIndex: number;
  /** What the table's owner compiled for this rule (compileRoutes' ruleOf), handed over with the match. */
  rule: R;
  matchIndex: number;
  /** For PathPrefix matches: the matched prefix as written in config minus a trailing '/', used by ReplacePrefixMatch. */
  matchedPrefix?: string;
}

/** 0 Exact, 1 RegularExpression, 2 PathPrefix: the first precedence criterion. */
export type PathKind = 0 | 1 | 2;
export const PATH_EXACT: PathKind = 0;
export const PATH_REGEX: PathKind = 1;
export const PATH_PREFIX: PathKind = 2;

/** A header or query parameter condition; exactly one of `exact` and `regex` is set. */
export interface ValueCondition {
  name: string;
  exact: string | null;
  regex: RegExp | null;
}

export interface Candidate {
  /** Shared, frozen: returned as is, so a lookup allocates nothing for its answer. */
  result: RouteMatchResult;
  pathKind: PathKind;
  /** Exact: the path; PathPrefix: the prefix minus one trailing '/' ('' for '/'); regex: its source. */
  pathKey: string;
  pathRegex: RegExp | null;
  method: string | null;
  headers: ValueCondition[] | null;
  queryParams: ValueCondition[] | null;
  // Sort keys for criteria 7-9 and a final stable index.
  created: number;
  routeName: string;
  routeIndex: number;
}

const DEFAULT_MATCH: RouteMatch = { path: { type: 'PathPrefix', value: '/' } };

/** Full-match semantics for every regular expression in a Route (Gateway API: the whole value must match). */
function anchored(source: string, where: string, problems: ErrorDetail[]): RegExp | null {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    problems.push({ path: where, message: `invalid regular expression: ${(err as Error).message}` });
    return null;
  }
}

function conditions(
  list: readonly { type?: 'Exact' | 'RegularExpression'; name: string; value: string }[] | undefined,
  lowerNames: boolean,
  where: string,
  problems: ErrorDetail[],
): ValueCondition[] | null {
  if (list === undefined || list.length === 0) return null;
  const out: ValueCondition[] = [];
  const seen = new Set<string>();
  list.forEach((c, i) => {
    const name = lowerNames ? c.name.toLowerCase() : c.name;
    // Gateway API: when a name repeats, only the first entry counts.
    if (seen.has(name)) return;
    seen.add(name);
    if (c.type === 'RegularExpression') {
      out.push({ name, exact: null, regex: anchored(c.value, `${where}[${i}].value`, problems) });
    } else out.push({ name, exact: c.value, regex: null });
  });
  return out;
}

function noRule(): undefined {
  return undefined;
}

/** Every (rule, match) of a route as candidates; problems collect compile errors for the caller to throw. */
export function routeCandidates(
  route: Route,
  routeIndex: number,
  problems: ErrorDetail[],
  ruleOf: (route: Route, ruleIndex: number) => unknown = noRule,
): Candidate[] {
  const out: Candidate[] = [];
  const created = route.metadata.creationTimestamp ? Date.parse(route.metadata.creationTimestamp) : Number.NaN;
  route.spec.rules.forEach((rule, ruleIndex) => {
    const compiled = ruleOf(route, ruleIndex);
    const matches = rule.matches !== undefined && rule.matches.length > 0 ? rule.matches : [DEFAULT_MATCH];
    matches.forEach((m, matchIndex) => {
      const where = `Route ${route.metadata.name} spec.rules[${ruleIndex}].matches[${matchIndex}]`;
      const type = m.path?.type ?? 'PathPrefix';
      const value = m.path?.value ?? '/';
      let pathKind: PathKind;
      let pathKey = value;
      let pathRegex: RegExp | null = null;
      const result: RouteMatchResult = { route, ruleIndex, rule: compiled, matchIndex };
      if (type === 'Exact') pathKind = PATH_EXACT;
      else if (type === 'RegularExpression') {
        pathKind = PATH_REGEX;
        pathRegex = anchored(value, `${where}.path.value`, problems);
      } else {
        pathKind = PATH_PREFIX;
        // Element-wise prefix: '/foo/' and '/foo' are the same match, keyed without the trailing '/'.
        pathKey = value.endsWith('/') ? value.slice(0, -1) : value;
        result.matchedPrefix = pathKey;
      }
      out.push({
        result: Object.freeze(result),
        pathKind,
        pathKey,
        pathRegex,
        method: m.method ?? null,
        headers: conditions(m.headers, true, `${where}.headers`, problems),
        queryParams: conditions(m.queryParams, false, `${where}.queryParams`, problems),
        // Absent or unparsable timestamp = newest.
        created: Number.isNaN(created) ? Number.POSITIVE_INFINITY : created,
        routeName: route.metadata.name,
        routeIndex,
      });
    });
  });
  return out;
}

/** Negative when `a` wins. Throws nothing; a total order thanks to the final routeIndex. */
export function comparePrecedence(a: Candidate, b: Candidate): number {
  // 1-3. Exact, then RegularExpression (longer pattern first: ours, implementation-specific), then the longest prefix.
  if (a.pathKind !== b.pathKind) return a.pathKind - b.pathKind;
  if (a.pathKind !== PATH_EXACT && a.pathKey.length !== b.pathKey.length) return b.pathKey.length - a.pathKey.length;
  // 4. A method match.
  if ((a.method === null) !== (b.method === null)) return a.method === null ? 1 : -1;
  // 5-6. Most header matches, then most query parameter matches.
  const ha = a.headers?.length ?? 0;
  const hb = b.headers?.length ?? 0;
  if (ha !== hb) return hb - ha;
  const qa = a.queryParams?.length ?? 0;
  const qb = b.queryParams?.length ?? 0;
  if (qa !== qb) return qb - qa;
  // 7-8. The oldest route, then route name (code-unit order, locale-independent).
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  if (a.routeName !== b.routeName) return a.routeName < b.routeName ? -1 : 1;
  if (a.routeIndex !== b.routeIndex) return a.routeIndex - b.routeIndex;
  // 9-10. Rule order, then match order within the rule.
  if (a.result.ruleIndex !== b.result.ruleIndex) return a.result.ruleIndex - b.result.ruleIndex;
  return a.result.matchIndex - b.result.matchIndex;
}
