import type { ErrorDetail } from '@portico/errors';
import type { z } from 'zod';
import { API_VERSION, isKind, KINDS, type Resource, resourceSchemas } from './resource.ts';

export type ValidationResult = { ok: true; resource: Resource } | { ok: false; errors: ErrorDetail[] };

/** `spec.rules[0].matches[1].path` from zod's path array. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function issuesToDetails(issues: ReadonlyArray<z.core.$ZodIssue>, document?: string): ErrorDetail[] {
  return issues.map((issue) => {
    const detail: ErrorDetail = { path: formatPath(issue.path), message: issue.message };
    if (document !== undefined) detail.document = document;
    return detail;
  });
}

/**
 * Validates one document and fills in defaults. The kind picks the schema, so an error names the field
 * (`spec.rules[0].backendRefs[0].weight`) rather than a union branch.
 */
export function validateResource(input: unknown, document?: string): ValidationResult {
  const fail = (path: string, message: string): ValidationResult => {
    const detail: ErrorDetail = { path, message };
    if (document !== undefined) detail.document = document;
    return { ok: false, errors: [detail] };
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('', 'must be an object');
  const doc = input as Record<string, unknown>;
  if (doc.apiVersion !== API_VERSION) return fail('apiVersion', `must be "${API_VERSION}"`);
  if (typeof doc.kind !== 'string' || !isKind(doc.kind)) return fail('kind', `must be one of ${KINDS.join(', ')}`);
  const parsed = resourceSchemas[doc.kind].safeParse(input);
  if (!parsed.success) return { ok: false, errors: issuesToDetails(parsed.error.issues, document) };
  return { ok: true, resource: parsed.data as Resource };
}
