/**
 * Request-target handling. The path a route matches is the path sent upstream, so both see the same
 * normalized form (RFC 3986 §6.2.2): unreserved percent-escapes decoded, escapes uppercased, dot segments removed.
 * Encoded slashes stay encoded. Anything else odd is a 400.
 */
import { BadRequestError } from './errors.ts';

export interface Target {
  path: string;
  /** Without the '?'; '' when absent. */
  query: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function parseTarget(url: string): Target {
  let path = url;
  let query = '';
  const q = url.indexOf('?');
  if (q !== -1) {
    path = url.slice(0, q);
    query = url.slice(q + 1);
  }
  if (path.charCodeAt(0) !== 47 /* '/' */) {
    // absolute-form (RFC 9112 §3.2.2) is legal towards a proxy: keep only its path.
    if (/^https?:\/\//i.test(path)) {
      const slash = path.indexOf('/', path.indexOf('//') + 2);
      path = slash === -1 ? '/' : path.slice(slash);
    } else {
      throw new BadRequestError('request target must start with "/"', [
        { path: 'request-target', message: url.slice(0, 200) },
      ]);
    }
  }
  if (path.includes('%') || path.includes('/.') || path.includes('#')) path = normalizePath(path);
  return { path, query };
}

export function normalizePath(path: string): string {
  if (path.includes('#'))
    throw new BadRequestError('request target must not contain a fragment', [
      { path: 'request-target', message: path.slice(0, 200) },
    ]);
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex))
      throw new BadRequestError('invalid percent-encoding in path', [
        { path: 'request-target', message: path.slice(0, 200) },
      ]);
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return removeDotSegments(out);
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
