/**
 * Request-target handling (RFC 9112 §3.2, RFC 3986). The path a route matches is the path sent upstream, byte for
 * byte: parseTarget() yields one normalized form and nothing after it decodes or re-encodes it (undici writes the
 * path as given). Backends disagree about characters that some of them read as separators or dot segments, so
 * those are refused or normalized here, before matching. What each target gets:
 *
 * - Always 400: a raw `\`; a control byte, space or DEL, raw or escaped (%00-%1F, %7F); a fragment (`#`); a bad
 *   %-escape; a segment that is a dot segment once its `;params` are cut (`..;`, `..;jsessionid=x`, `.;x`, also
 *   with `%3B`): Tomcat and Spring read those as `..`; a target that is neither origin-form nor http(s)
 *   absolute-form.
 * - Always normalized (RFC 3986 §6.2.2): escapes of unreserved characters decoded (so `%2e%2e` is `..`), other
 *   escapes uppercased, raw bytes above 0x7E percent-encoded (the forwarded path is ASCII), then dot segments
 *   removed (§5.2.4): `/a/%2e%2e/b` is `/b`, and `/b` is both what is matched and what is forwarded.
 * - `escapedSlashes`, default 'reject': `%2F` and `%5C`, which some backends decode into separators after the
 *   proxy matched. 'reject' answers 400 (Spring's StrictHttpFirewall default); 'keep' leaves them encoded and
 *   opaque to matching (Envoy's KEEP_UNCHANGED); 'unescape' turns both into `/` before dot segments are removed
 *   (Envoy's UNESCAPE_AND_FORWARD; `\` is never kept raw, so %5C becomes `/` too).
 * - `semicolons`, default 'keep': path parameters are legal (RFC 3986 §3.3) and some APIs use them; 'reject'
 *   answers 400 to any `;` or `%3B` in the path (Spring's default).
 * - `mergeSlashes`, default false: `//` is a legal empty segment and is kept, so `/a//b` is matched and forwarded
 *   as `/a//b` (no PathPrefix `/a/b` matches it). true collapses runs of `/` (Envoy's merge_slashes): set it when
 *   backends merge slashes themselves and routes differ in policy below a shared prefix.
 *
 * The query is passed on as sent, except that control bytes, space, DEL and `#` are a 400 and raw bytes above
 * 0x7E are percent-encoded. The common target (origin-form, none of `% \ ; #`, `/.`, controls) costs one scan.
 */
import { BadRequestError } from './errors.ts';

export interface PathPolicy {
  escapedSlashes: 'reject' | 'keep' | 'unescape';
  semicolons: 'keep' | 'reject';
  mergeSlashes: boolean;
}

export const DEFAULT_PATH_POLICY: Readonly<PathPolicy> = Object.freeze({
  escapedSlashes: 'reject',
  semicolons: 'keep',
  mergeSlashes: false,
});

const ESCAPED_SLASHES = ['reject', 'keep', 'unescape'] as const;
const SEMICOLONS = ['keep', 'reject'] as const;

/** Defaults merged, then each option checked by name; the result is frozen. */
export function resolvePathPolicy(options: Partial<PathPolicy> = {}): Readonly<PathPolicy> {
  const policy = { ...DEFAULT_PATH_POLICY, ...options };
  if (!ESCAPED_SLASHES.includes(policy.escapedSlashes))
    throw new TypeError(
      `pathPolicy.escapedSlashes must be one of ${ESCAPED_SLASHES.join(', ')}, got ${String(policy.escapedSlashes)}`,
    );
  if (!SEMICOLONS.includes(policy.semicolons))
    throw new TypeError(
      `pathPolicy.semicolons must be one of ${SEMICOLONS.join(', ')}, got ${String(policy.semicolons)}`,
    );
  if (typeof policy.mergeSlashes !== 'boolean')
    throw new TypeError(`pathPolicy.mergeSlashes must be a boolean, got ${String(policy.mergeSlashes)}`);
  return Object.freeze(policy);
}

export interface Target {
  /** Normalized: what the router matches and what goes upstream. */
  path: string;
  /** Without the '?'; '' when absent. */
  query: string;
  /** The authority of an absolute-form target, as sent (checked by requestAuthority); absent for origin-form. */
  authority?: string;
}

function refuse(message: string, target: string): BadRequestError {
  return new BadRequestError(message, [{ path: 'request-target', message: target.slice(0, 200) }]);
}

const ABSOLUTE_FORM = /^https?:\/\//i;

export function parseTarget(url: string, policy: Readonly<PathPolicy> = DEFAULT_PATH_POLICY): Target {
  if (url.charCodeAt(0) !== 47 /* '/' */) return parseAbsoluteForm(url, policy);
  // One scan decides whether the path needs the slow path; it stops at the query.
  const merge = policy.mergeSlashes;
  let prev = 0;
  let i = 0;
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */) break;
    if (
      c <= 32 ||
      c >= 127 ||
      c === 37 /* % */ ||
      c === 92 /* \ */ ||
      c === 59 /* ; */ ||
      c === 35 /* # */ ||
      (prev === 47 && (c === 46 /* . */ || (c === 47 && merge)))
    )
      return slowTarget(url, policy);
    prev = c;
  }
  if (i === url.length) return { path: url, query: '' };
  return { path: url.slice(0, i), query: checkQuery(url, i + 1) };
}

/** RFC 9112 §3.2.2: legal towards a proxy; its authority replaces Host (see authority.ts). */
function parseAbsoluteForm(url: string, policy: Readonly<PathPolicy>): Target {
  if (!ABSOLUTE_FORM.test(url)) throw refuse('request target must start with "/" or be an http(s) URL', url);
  const start = url.indexOf('//') + 2;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  const authority = url.slice(start, end);
  // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid.
  if (authority === '') throw refuse('absolute-form request target has no host', url);
  const rest = url.slice(end);
  const target = parseTarget(rest.charCodeAt(0) === 47 ? rest : `/${rest}`, policy);
  target.authority = authority;
  return target;
}

function slowTarget(url: string, policy: Readonly<PathPolicy>): Target {
  const q = url.indexOf('?');
  if (q === -1) return { path: normalizePath(url, policy), query: '' };
  return { path: normalizePath(url.slice(0, q), policy), query: checkQuery(url, q + 1) };
}

/** The query goes on as sent; only what no URI may hold is refused, and raw high bytes are encoded. */
function checkQuery(url: string, from: number): string {
  let encode = false;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 32 || c === 127 || c > 255) throw refuse('control character or space in query', url);
    if (c === 35) throw refuse('request target must not contain a fragment', url);
    if (c > 126) encode = true;
  }
  const query = url.slice(from);
  return encode ? encodeHighBytes(query) : query;
}

function encodeHighBytes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c > 126 ? HEX[c] : s[i];
  }
  return out;
}

/** `%XX` (uppercase) for every byte value. */
const HEX: string[] = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 unreserved: ALPHA / DIGIT / - . _ ~ (also the characters a Host name may use here). */
export function isUnreserved(b: number): boolean {
  return (
    (b >= 65 && b <= 90) ||
    (b >= 97 && b <= 122) ||
    (b >= 48 && b <= 57) ||
    b === 45 ||
    b === 46 ||
    b === 95 ||
    b === 126
  );
}

/** The slow path of parseTarget, on the path alone (no query). */
export function normalizePath(path: string, policy: Readonly<PathPolicy> = DEFAULT_PATH_POLICY): string {
  let out = '';
  let params = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) throw refuse('invalid percent-encoding in path', path);
      const b = hi * 16 + lo;
      i += 2;
      if (b < 32 || b === 127) throw refuse('encoded control character in path', path);
      if (isUnreserved(b)) out += String.fromCharCode(b);
      else if (b === 47 || b === 92) {
        if (policy.escapedSlashes === 'reject')
          throw refuse(`encoded ${b === 47 ? 'slash (%2F)' : 'backslash (%5C)'} in path is refused`, path);
        out += policy.escapedSlashes === 'unescape' ? '/' : HEX[b];
      } else {
        if (b === 59) {
          if (policy.semicolons === 'reject') throw refuse('semicolon in path is refused', path);
          params = true;
        }
        out += HEX[b];
      }
      continue;
    }
    if (c <= 32 || c === 127) throw refuse('control character or space in path', path);
    if (c === 92) throw refuse('backslash in path', path);
    if (c === 35) throw refuse('request target must not contain a fragment', path);
    if (c > 255) throw refuse('character outside Latin-1 in path', path);
    if (c === 59) {
      if (policy.semicolons === 'reject') throw refuse('semicolon in path is refused', path);
      params = true;
    }
    out += c > 126 ? HEX[c] : path[i];
  }
  if (policy.mergeSlashes) out = mergeSlashes(out);
  if (params) refuseDotSegmentsWithParams(out, path);
  out = removeDotSegments(out);
  // Removing `..` can join an empty segment to a slash that had been merged apart: merge once more.
  return policy.mergeSlashes ? mergeSlashes(out) : out;
}

function mergeSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/** `..;x` and `.;x` (with `;` or `%3B`) are dot segments to Tomcat and Spring: always a 400. */
function refuseDotSegmentsWithParams(path: string, original: string): void {
  for (const segment of path.split('/')) {
    let cut = segment.indexOf(';');
    const escaped = segment.indexOf('%3B');
    if (cut === -1 || (escaped !== -1 && escaped < cut)) cut = escaped;
    if (cut === -1) continue;
    const name = segment.slice(0, cut);
    if (name === '.' || name === '..') throw refuse('dot segment with path parameters in path', original);
  }
}

/** RFC 3986 §5.2.4 on an absolute path. */
export function removeDotSegments(path: string): string {
  if (!path.includes('/.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '.') {
      if (last) out.push('');
    } else if (seg === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return `/${out.join('/')}`;
}

/**
 * Gateway API ReplacePrefixMatch: `matchedPrefix` (no trailing '/') is replaced by `replacement`
 * element-wise: /foo + /foo/bar -> /xyz/bar; replacement "/" -> /bar; /foo -> /xyz.
 */
export function replacePrefix(path: string, matchedPrefix: string, replacement: string): string {
  const rest = path.slice(matchedPrefix.length);
  const base = replacement.endsWith('/') ? replacement.slice(0, -1) : replacement;
  const result = base + rest;
  return result === '' ? '/' : result;
}
