/**
 * The admin API's own request-target parser. It accepts only origin-form `/path[?query]` in which every segment
 * means one thing to every reader, and refuses the rest: it never normalises. WHATWG URL rules (`\` as `/`, dot
 * segments removed) once let `/echo/..\..\api\v1\apply`, forwarded verbatim by the proxy, reach `/api/v1/apply`.
 */
import { AdminBadTargetError } from './errors.ts';

export interface RequestTarget {
  /** The path exactly as sent (still percent-encoded). */
  path: string;
  /** The path's segments, each percent-decoded once; `/` alone has none. */
  segments: string[];
  query: URLSearchParams;
}

/** RFC 3986 pchar (unreserved, sub-delims, `:`, `@`) plus `/` and `%`, which are checked on their own. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** The query may also hold `?` (RFC 3986 3.4). */
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
/** `%` not followed by two hex digits. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/** An encoded `/`, `\`, control byte or DEL: a segment that some reader would split or cut. */
const FORBIDDEN_ESCAPE = /%(2[Ff]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])/;

export function parseRequestTarget(raw: string): RequestTarget {
  const refuse = (why: string): never => {
    throw new AdminBadTargetError(why);
  };
  if (!raw.startsWith('/')) refuse('must be origin-form: a path starting with "/"');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q + 1);
  if (raw.includes('\\')) refuse('must not contain "\\"');
  if (raw.includes('#')) refuse('must not contain "#"');
  if (!PATH_CHARS.test(path)) refuse('the path holds a character outside RFC 3986 pchar');
  if (!QUERY_CHARS.test(query)) refuse('the query holds a character outside RFC 3986 query characters');
  if (BAD_ESCAPE.test(raw)) refuse('"%" must be followed by two hex digits');
  if (FORBIDDEN_ESCAPE.test(path)) refuse('the path must not hold an encoded "/", "\\" or control byte');

  const segments: string[] = [];
  if (path !== '/') {
    for (const raw of path.slice(1).split('/')) {
      let segment = '';
      try {
        segment = decodeURIComponent(raw);
      } catch {
        refuse('the percent-encoding is not UTF-8');
      }
      // `..;x` is `..` to a server that strips path parameters (Tomcat, Spring): judge what is before the `;`.
      const bare = segment.split(';', 1)[0]!;
      if (bare === '') refuse('the path must not hold an empty segment ("//", a trailing "/" or ";x")');
      if (bare === '.' || bare === '..') refuse('the path must not hold a "." or ".." segment');
      segments.push(segment);
    }
  }
  return { path, segments, query: new URLSearchParams(query) };
}
