import type { ErrorDetail } from '@portico/errors';
import { parseAllDocuments } from 'yaml';
import type { Resource } from './resource.ts';
import { validateResource } from './validate.ts';

/**
 * Resource-exhaustion limits for config text, which may come from an admin API client. A billion-laughs document
 * expands its aliases past any memory; a document nested thousands deep makes the yaml composer recurse until the
 * stack runs out (and V8 can then abort the whole process). Real config nests about ten deep and uses few aliases.
 */
export const YAML_LIMITS = Object.freeze({ maxAliasCount: 100, maxDepth: 64 });

export interface ParsedDocuments {
  resources: Resource[];
  /** Every problem, in document order: parse errors and schema errors. */
  errors: ErrorDetail[];
  /** The entries of `errors` that are not schema errors: text that is not YAML/JSON or hits a YAML limit. */
  parseErrors: ErrorDetail[];
}

/**
 * Parses multi-document YAML (or JSON, which is YAML) and validates each document.
 * Documents are named `<source>#<index> <Kind>/<name>` so an error says which one is wrong.
 * Never throws for bad input: everything wrong is in `errors` (and `parseErrors` for what did not parse).
 */
export function parseDocuments(text: string, source = 'input'): ParsedDocuments {
  const resources: Resource[] = [];
  const errors: ErrorDetail[] = [];
  const parseErrors: ErrorDetail[] = [];
  const parseError = (detail: ErrorDetail) => {
    errors.push(detail);
    parseErrors.push(detail);
  };

  // Checked before the yaml package sees the text: its composer is where deep nesting does harm.
  const deep = deepestDocument(text, YAML_LIMITS.maxDepth);
  if (deep !== undefined) {
    parseError({
      document: `${source}#${deep}`,
      path: '',
      message: `nested deeper than ${YAML_LIMITS.maxDepth} levels; refused as a resource-exhaustion guard`,
    });
    return { resources, errors, parseErrors };
  }

  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) parseError({ document: `${source}#${index}`, path: '', message: e.message });
      return;
    }
    let value: unknown;
    try {
      // Throws a ReferenceError past maxAliasCount (alias expansion) or for an alias with no anchor.
      value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      parseError({
        document: `${source}#${index}`,
        path: '',
        message: /excessive alias count/i.test(message)
          ? `more than ${YAML_LIMITS.maxAliasCount} alias expansions; refused as a resource-exhaustion guard`
          : message,
      });
      return;
    }
    if (value === null || value === undefined) return; // an empty document between separators
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => {
      const name = describe(item);
      const document = `${source}#${index}${Array.isArray(value) ? `[${i}]` : ''}${name ? ` ${name}` : ''}`;
      const result = validateResource(item, document);
      if (result.ok) resources.push(result.resource);
      else errors.push(...result.errors);
    });
  });
  return { resources, errors, parseErrors };
}

/**
 * The index of the first document whose nesting may exceed `limit`, or undefined. One linear pass that
 * over-estimates (indentation levels + compact `- - ` items + open flow brackets, quotes and comments skipped),
 * so it never lets a deep document through; the generous limit keeps real config clear of it.
 */
function deepestDocument(text: string, limit: number): number | undefined {
  let doc = 0;
  let flow = 0;
  const indents: number[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    // At the start of a line.
    const lineStart = i;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    const indent = i - lineStart;
    if (indent === 0 && flow === 0 && /^(---|\.\.\.)(\s|$)/.test(text.slice(i, i + 4))) {
      if (text[i] === '-') doc++;
      indents.length = 0;
    }
    const blank = i >= n || text[i] === '\n' || text[i] === '\r' || text[i] === '#';
    if (!blank && flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let dashes = 0;
    let blockScalar = false;
    let atValue = true; // where `[`, `{` or a quote opens something rather than sitting inside a plain scalar
    while (i < n && text[i] !== '\n') {
      const c = text[i]!;
      if (c === '#' && (i === lineStart || text[i - 1] === ' ' || text[i - 1] === '\t')) {
        while (i < n && text[i] !== '\n') i++;
        break;
      }
      if ((c === '"' || c === "'") && atValue) {
        i = skipQuoted(text, i);
        atValue = false;
        continue;
      }
      const spaced = /[ \t\r\n]/.test(text[i + 1] ?? '\n');
      if (c === ' ' || c === '\t') {
        // a space changes nothing
      } else if ((c === '[' || c === '{') && (atValue || flow > 0)) {
        flow++;
        atValue = true;
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
        atValue = false;
      } else if ((c === '!' || c === '&') && atValue) {
        // A tag or an anchor: the value follows it.
        while (i + 1 < n && !/[ \t\r\n,[\]{}]/.test(text[i + 1]!)) i++;
      } else if (c === '-' && atValue && flow === 0 && spaced) {
        dashes++;
      } else if ((c === '|' || c === '>') && atValue && flow === 0) {
        blockScalar = true;
        atValue = false;
      } else {
        // Indicators that start a value; anything else is inside a plain scalar, where brackets are text.
        atValue = ((c === ':' || c === '?') && (spaced || flow > 0)) || (c === ',' && flow > 0);
      }
      if (indents.length + dashes + flow > limit) return doc;
      i++;
    }
    i++; // the newline
    if (blockScalar) {
      // A block scalar's lines are text, whatever brackets or dashes they hold: skip the more indented ones.
      while (i < n) {
        let j = i;
        while (j < n && text[j] === ' ') j++;
        if (j - i <= indent && j < n && text[j] !== '\n' && text[j] !== '\r') break;
        const next = text.indexOf('\n', j);
        i = next === -1 ? n : next + 1;
      }
    }
  }
  return undefined;
}

/** The index just past a quoted scalar starting at `start` (which may span lines). */
function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (quote === '"' && c === '\\') i += 2;
    else if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}

function describe(item: unknown): string {
  if (typeof item !== 'object' || item === null) return '';
  const r = item as { kind?: unknown; metadata?: { name?: unknown } };
  const kind = typeof r.kind === 'string' ? r.kind : '?';
  const name = typeof r.metadata?.name === 'string' ? r.metadata.name : '?';
  return `(${kind}/${name})`;
}
