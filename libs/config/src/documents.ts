import type { ErrorDetail } from '@portico/errors';
import { parseAllDocuments } from 'yaml';
import type { Resource } from './resource.ts';
import { validateResource } from './validate.ts';

export interface ParsedDocuments {
  resources: Resource[];
  errors: ErrorDetail[];
}

/**
 * Parses multi-document YAML (or JSON, which is YAML) and validates each document.
 * Documents are named `<source>#<index> <Kind>/<name>` so an error says which one is wrong.
 */
export function parseDocuments(text: string, source = 'input'): ParsedDocuments {
  const resources: Resource[] = [];
  const errors: ErrorDetail[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push({ document: `${source}#${index}`, path: '', message: e.message });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
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
  return { resources, errors };
}

function describe(item: unknown): string {
  if (typeof item !== 'object' || item === null) return '';
  const r = item as { kind?: unknown; metadata?: { name?: unknown } };
  const kind = typeof r.kind === 'string' ? r.kind : '?';
  const name = typeof r.metadata?.name === 'string' ? r.metadata.name : '?';
  return `(${kind}/${name})`;
}
