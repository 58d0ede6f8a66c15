import type { ErrorDetail } from '@portico/errors';
import { type Resource, validateResource } from '../src/index.ts';

export function doc(kind: string, spec: unknown, name = 'x'): Record<string, unknown> {
  return { apiVersion: 'portico.dev/v1', kind, metadata: { name }, spec };
}

export function route(rule: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return doc('Route', { rules: [rule], ...extra });
}

/** The errors of an input that must fail. */
export function errorsOf(input: unknown): ErrorDetail[] {
  const result = validateResource(input);
  if (result.ok) throw new Error(`expected a validation error, got ${JSON.stringify(result.resource)}`);
  return result.errors;
}

/** The resource of an input that must pass. */
export function valid(input: unknown): Resource {
  const result = validateResource(input);
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.errors)}`);
  return result.resource;
}

export function paths(errors: ErrorDetail[]): string[] {
  return errors.map((e) => e.path ?? '');
}
