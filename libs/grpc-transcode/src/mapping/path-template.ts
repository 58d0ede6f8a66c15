/**
 * Path templates of google/api/http.proto:
 *
 *   Template = "/" Segments [ Verb ] ;
 *   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   FieldPath = IDENT { "." IDENT } ;
 *   Verb     = ":" LITERAL ;
 *
 * `{name}` is `{name=*}`. `**` matches zero or more segments and only the last segment may be one. A variable
 * that spans one segment is sent fully percent-decoded; one that spans several keeps `%2F` as it came.
 */
import { GrpcHttpRuleError } from './errors.ts';

export type TemplateSegment = { kind: 'literal'; value: string } | { kind: 'wildcard' } | { kind: 'deepWildcard' };

export interface TemplateVariable {
  /** Dotted field path of the input message, e.g. `book.name`. */
  fieldPath: string;
  /** Index of the variable's first segment. */
  start: number;
  /** Index after its last segment; absent when it ends with `**` (it runs to the end of the path). */
  end?: number;
  /** True when the variable can span more than one segment (its value keeps `%2F`). */
  multiSegment: boolean;
}

export interface PathTemplate {
  source: string;
  segments: TemplateSegment[];
  variables: TemplateVariable[];
  /** The custom verb after the last `:`, e.g. `cancel` in `/v1/{name=operations/**}:cancel`. */
  verb?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[^/{}*=:?#]+$/;

/** Parses `template`; a template outside the grammar throws a GrpcHttpRuleError naming it and `method`. */
export function parsePathTemplate(template: string, method?: string): PathTemplate {
  const fail = (reason: string): never => {
    throw new GrpcHttpRuleError(reason, { method, template });
  };
  if (!template.startsWith('/')) fail('a path template starts with "/"');
  let rest = template.slice(1);
  let verb: string | undefined;
  const verbAt = verbColon(rest);
  if (verbAt >= 0) {
    verb = rest.slice(verbAt + 1);
    rest = rest.slice(0, verbAt);
    if (!LITERAL.test(verb)) fail(`the verb ":${verb}" is not a literal`);
  }
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  const fieldPaths = new Set<string>();
  for (const part of splitOutsideBraces(rest, fail)) {
    if (part.startsWith('{')) {
      if (!part.endsWith('}')) fail(`unterminated variable "${part}"`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf('=');
      const fieldPath = eq < 0 ? inner : inner.slice(0, eq);
      if (!fieldPath.split('.').every((ident) => IDENT.test(ident))) fail(`"${fieldPath}" is not a field path`);
      if (fieldPaths.has(fieldPath)) fail(`the field path "${fieldPath}" is bound twice`);
      fieldPaths.add(fieldPath);
      const start = segments.length;
      const inside = eq < 0 ? [{ kind: 'wildcard' } as const] : parseSegments(inner.slice(eq + 1), fail);
      if (inside.length === 0) fail(`the variable "${fieldPath}" has an empty pattern`);
      segments.push(...inside);
      const deep = inside.some((s) => s.kind === 'deepWildcard');
      variables.push({
        fieldPath,
        start,
        ...(deep ? {} : { end: segments.length }),
        multiSegment: deep || inside.length > 1,
      });
    } else {
      segments.push(...parseSegments(part, fail));
    }
  }
  const deepAt = segments.findIndex((s) => s.kind === 'deepWildcard');
  if (deepAt >= 0 && deepAt !== segments.length - 1) fail('"**" may only be the last segment');
  return { source: template, segments, variables, ...(verb === undefined ? {} : { verb }) };
}

/**
 * The variables of `template` for a request path already split into raw (still percent-encoded) segments that
 * the template matches, without the `:verb`. Single-segment values are fully decoded; multi-segment values are
 * decoded except `%2F`.
 */
export function templateParams(template: PathTemplate, rawSegments: readonly string[]): Array<[string, string]> {
  return template.variables.map((v) => {
    const raw = rawSegments.slice(v.start, v.end ?? rawSegments.length);
    const value = v.multiSegment
      ? raw.map((s) => percentDecode(s, true)).join('/')
      : percentDecode(raw[0] ?? '', false);
    return [v.fieldPath, value];
  });
}

/** Decodes %XX escapes as UTF-8; malformed escapes stay as they are. With `keepSlash`, `%2F`/`%2f` stay encoded. */
export function percentDecode(segment: string, keepSlash: boolean): string {
  if (!segment.includes('%')) return segment;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += UTF8.decode(new Uint8Array(bytes));
    bytes = [];
  };
  for (let i = 0; i < segment.length; i++) {
    const hex = segment[i] === '%' ? segment.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex) && !(keepSlash && hex.toUpperCase() === '2F')) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      flush();
      out += segment[i];
    }
  }
  flush();
  return out;
}

const UTF8 = new TextDecoder();

function parseSegments(text: string, fail: (reason: string) => never): TemplateSegment[] {
  return text.split('/').map((part): TemplateSegment => {
    if (part === '*') return { kind: 'wildcard' };
    if (part === '**') return { kind: 'deepWildcard' };
    if (part === '') fail('empty segment');
    if (!LITERAL.test(part)) fail(`"${part}" is not a literal, "*", "**" or a variable`);
    return { kind: 'literal', value: part };
  });
}

/** Splits on "/" outside braces, keeping each `{...}` variable whole. */
function splitOutsideBraces(text: string, fail: (reason: string) => never): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '{') {
      if (depth > 0) fail('variables cannot nest');
      if (current !== '') fail(`a variable must be a whole segment, not after "${current}"`);
      depth++;
    } else if (ch === '}') {
      if (depth === 0) fail('"}" without "{"');
      depth--;
    } else if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    } else if (depth === 0 && current.endsWith('}')) {
      fail('a variable must be a whole segment');
    }
    current += ch;
  }
  if (depth > 0) fail('unterminated variable');
  parts.push(current);
  return parts;
}

/** The index of the `:` that starts the verb: the last one outside braces after the last "/" outside braces. */
function verbColon(text: string): number {
  let depth = 0;
  let colon = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (depth === 0 && ch === '/') colon = -1;
    else if (depth === 0 && ch === ':') colon = i;
  }
  return colon;
}
