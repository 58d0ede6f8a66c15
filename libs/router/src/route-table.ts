/**
 * The route matcher: Route resources (Gateway API HTTPRoute) compiled into an immutable index, looked up once per
 * request by the front proxy.
 *
 * Index shape: host group -> path index -> candidates pre-sorted by Gateway API precedence, so a lookup reads at
 * most a few buckets and returns the first candidate whose method, headers and query parameters match.
 *
 * Host selection works like Envoy virtual hosts, which is what Envoy-based Gateway API implementations do: the
 * most specific host group that has routes wins (an exact hostname, else the longest matching `*.` wildcard
 * suffix, else the routes that list no hostnames), and a request that matches no rule of that group is a miss.
 * It does NOT fall through to a less specific group: with routes for `a.example.com` and `*.example.com`,
 * a request for `a.example.com` only ever sees the first.
 */
import { performance } from 'node:perf_hooks';
import type { Route } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';
import {
  type Candidate,
  comparePrecedence,
  PATH_EXACT,
  PATH_REGEX,
  type RouteMatchResult,
  routeCandidates,
  type ValueCondition,
} from './candidate.ts';
import { routerChannels } from './channels.ts';
import { RouteCompileError } from './errors.ts';

export interface MatchInput {
  /** Host or :authority, lowercased, port stripped by the caller. */
  host: string;
  /** Normalized path without the query. */
  path: string;
  /** Raw query string without '?', '' if none. */
  query: string;
  method: string;
  /** Node's lowercased header names. */
  headers: Record<string, string | string[] | undefined>;
}

export interface RouteTable<R = unknown> {
  match(input: MatchInput): RouteMatchResult<R> | null;
  /** Number of rules across all routes. */
  readonly size: number;
}

const EMPTY_BUCKET: readonly Candidate[] = [];

/** The path index of one host group. */
class HostGroup {
  readonly exact = new Map<string, Candidate[]>();
  regex: Candidate[] = [];
  /** PathPrefix buckets keyed by the prefix without its trailing '/' ('' is the root). */
  readonly prefix = new Map<string, Candidate[]>();
  /** prefixLengths[n] === 1 when some prefix key has n characters: skips slicing the path at other lengths. */
  prefixLengths: Uint8Array = new Uint8Array(0);

  add(c: Candidate): void {
    if (c.pathKind === PATH_REGEX) this.regex.push(c);
    else {
      const map = c.pathKind === PATH_EXACT ? this.exact : this.prefix;
      const bucket = map.get(c.pathKey);
      if (bucket === undefined) map.set(c.pathKey, [c]);
      else bucket.push(c);
    }
  }

  seal(): void {
    for (const bucket of this.exact.values()) bucket.sort(comparePrecedence);
    for (const bucket of this.prefix.values()) bucket.sort(comparePrecedence);
    this.regex.sort(comparePrecedence);
    let max = 0;
    for (const key of this.prefix.keys()) if (key.length > max) max = key.length;
    this.prefixLengths = new Uint8Array(max + 1);
    for (const key of this.prefix.keys()) this.prefixLengths[key.length] = 1;
  }

  /** Exact bucket, then regexes, then prefixes from the longest: the global precedence order, bucket by bucket. */
  lookup(input: MatchInput): RouteMatchResult | null {
    const path = input.path;
    if (this.exact.size > 0) {
      const hit = firstAccepted(this.exact.get(path) ?? EMPTY_BUCKET, input);
      if (hit !== null) return hit;
    }
    const regex = this.regex;
    for (let i = 0; i < regex.length; i++) {
      const c = regex[i]!;
      if (c.pathRegex!.test(path) && accepts(c, input)) return c.result;
    }
    const lengths = this.prefixLengths;
    const prefix = this.prefix;
    // Element-wise walk: the whole path, then the path cut before each '/', right to left, down to ''.
    let end = path.length;
    while (end >= 0) {
      if (end < lengths.length && lengths[end] === 1) {
        const bucket = prefix.get(end === path.length ? path : path.slice(0, end));
        if (bucket !== undefined) {
          const hit = firstAccepted(bucket, input);
          if (hit !== null) return hit;
        }
      }
      if (end === 0) break;
      end = path.lastIndexOf('/', end - 1);
    }
    return null;
  }
}

function firstAccepted(bucket: readonly Candidate[], input: MatchInput): RouteMatchResult | null {
  for (let i = 0; i < bucket.length; i++) {
    const c = bucket[i]!;
    if (accepts(c, input)) return c.result;
  }
  return null;
}

function accepts(c: Candidate, input: MatchInput): boolean {
  if (c.method !== null && c.method !== input.method) return false;
  if (c.headers !== null && !headersMatch(c.headers, input.headers)) return false;
  if (c.queryParams !== null && !queryMatches(c.queryParams, input.query)) return false;
  return true;
}

function valueMatches(cond: ValueCondition, value: string): boolean {
  return cond.exact !== null ? cond.exact === value : cond.regex!.test(value);
}

function headersMatch(conds: ValueCondition[], headers: MatchInput['headers']): boolean {
  for (let i = 0; i < conds.length; i++) {
    const cond = conds[i]!;
    const raw = headers[cond.name];
    if (raw === undefined) return false;
    // A header sent several times is matched as one comma-joined value.
    if (!valueMatches(cond, typeof raw === 'string' ? raw : raw.join(','))) return false;
  }
  return true;
}

// The last parsed query: a lookup parses the query at most once, and only when a candidate needs it.
let parsedQuery: string | null = null;
let parsedParams: URLSearchParams = new URLSearchParams();

function queryMatches(conds: ValueCondition[], query: string): boolean {
  if (query !== parsedQuery) {
    parsedParams = new URLSearchParams(query);
    parsedQuery = query;
  }
  for (let i = 0; i < conds.length; i++) {
    const cond = conds[i]!;
    // First value of the parameter, percent-decoded.
    const value = parsedParams.get(cond.name);
    if (value === null || !valueMatches(cond, value)) return false;
  }
  return true;
}

class CompiledRouteTable implements RouteTable {
  readonly size: number;
  readonly #exactHosts: Map<string, HostGroup>;
  /** `*.example.com` is keyed `example.com`. */
  readonly #wildcardHosts: Map<string, HostGroup>;
  readonly #anyHost: HostGroup | null;

  constructor(
    size: number,
    exactHosts: Map<string, HostGroup>,
    wildcardHosts: Map<string, HostGroup>,
    anyHost: HostGroup | null,
  ) {
    this.size = size;
    this.#exactHosts = exactHosts;
    this.#wildcardHosts = wildcardHosts;
    this.#anyHost = anyHost;
  }

  match(input: MatchInput): RouteMatchResult | null {
    const group = this.#group(input.host);
    return group === null ? null : group.lookup(input);
  }

  #group(host: string): HostGroup | null {
    if (this.#exactHosts.size > 0) {
      const g = this.#exactHosts.get(host);
      if (g !== undefined) return g;
    }
    if (this.#wildcardHosts.size > 0) {
      // Longest suffix first; a wildcard needs at least one label before it, so `example.com` is never tried
      // against `*.example.com`.
      let dot = host.indexOf('.');
      while (dot !== -1) {
        const g = this.#wildcardHosts.get(host.slice(dot + 1));
        if (g !== undefined) return g;
        dot = host.indexOf('.', dot + 1);
      }
    }
    return this.#anyHost;
  }
}

/**
 * Compiles routes into an immutable table. Throws RouteCompileError, naming every bad field, when a regular
 * expression does not compile; the caller keeps its previous table. `ruleOf` is called once per rule; what it
 * returns comes back as `rule` with every match of that rule (the caller's compiled rule: no second lookup).
 */
export function compileRoutes<R = undefined>(
  routes: readonly Route[],
  ruleOf?: (route: Route, ruleIndex: number) => R,
): RouteTable<R> {
  const started = performance.now();
  const problems: ErrorDetail[] = [];
  const exactHosts = new Map<string, HostGroup>();
  const wildcardHosts = new Map<string, HostGroup>();
  let anyHost: HostGroup | null = null;
  let rules = 0;
  let entries = 0;

  const groupFor = (map: Map<string, HostGroup>, key: string): HostGroup => {
    let g = map.get(key);
    if (g === undefined) {
      g = new HostGroup();
      map.set(key, g);
    }
    return g;
  };

  routes.forEach((route, routeIndex) => {
    rules += route.spec.rules.length;
    const candidates = routeCandidates(route, routeIndex, problems, ruleOf);
    const groups = new Set<HostGroup>();
    const hostnames = route.spec.hostnames ?? [];
    if (hostnames.length === 0) {
      anyHost ??= new HostGroup();
      groups.add(anyHost);
    }
    for (const raw of hostnames) {
      const name = raw.toLowerCase();
      if (name.startsWith('*.')) groups.add(groupFor(wildcardHosts, name.slice(2)));
      else groups.add(groupFor(exactHosts, name));
    }
    for (const g of groups) for (const c of candidates) g.add(c);
    entries += groups.size * candidates.length;
  });
  if (problems.length > 0) throw new RouteCompileError(problems);

  for (const g of exactHosts.values()) g.seal();
  for (const g of wildcardHosts.values()) g.seal();
  (anyHost as HostGroup | null)?.seal();

  const table = new CompiledRouteTable(rules, exactHosts, wildcardHosts, anyHost);
  if (routerChannels.compiled.hasSubscribers)
    routerChannels.compiled.publish({
      routes: routes.length,
      rules,
      candidates: entries,
      hostGroups: exactHosts.size + wildcardHosts.size + (anyHost === null ? 0 : 1),
      durationMs: performance.now() - started,
    });
  return Object.freeze(table) as RouteTable<R>;
}
