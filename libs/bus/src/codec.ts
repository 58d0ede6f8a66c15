/** What goes into and comes out of a store: validated on write and again on read. */
import { isDeepStrictEqual } from 'node:util';
import { ConfigInvalidError, type Kind, type Resource, validateResource } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';

/** Validates (filling defaults) and drops the metadata the bus owns. Throws ConfigInvalidError with field paths. */
export function prepareWrite(input: unknown): Resource {
  const result = validateResource(input);
  if (!result.ok) throw new ConfigInvalidError(result.errors);
  const { resourceVersion: _rv, creationTimestamp: _ct, ...metadata } = result.resource.metadata;
  return { ...result.resource, metadata } as Resource;
}

/** Equal apart from the metadata the bus owns. */
export function sameContent(a: Resource, b: Resource): boolean {
  const strip = (r: Resource) => {
    const { resourceVersion: _rv, creationTimestamp: _ct, ...metadata } = r.metadata;
    return { ...r, metadata };
  };
  return isDeepStrictEqual(strip(a), strip(b));
}

export function withMetadata(
  resource: Resource,
  extra: { creationTimestamp?: string; resourceVersion?: string },
): Resource {
  const metadata = { ...resource.metadata };
  if (extra.creationTimestamp !== undefined) metadata.creationTimestamp = extra.creationTimestamp;
  if (extra.resourceVersion !== undefined) metadata.resourceVersion = extra.resourceVersion;
  return { ...resource, metadata } as Resource;
}

export function encode(resource: Resource): Uint8Array {
  const { resourceVersion: _rv, ...metadata } = resource.metadata;
  return new TextEncoder().encode(JSON.stringify({ ...resource, metadata }));
}

export type Decoded = { ok: true; resource: Resource } | { ok: false; errors: ErrorDetail[] };

/** Parses and validates a stored value; the bucket fixes the kind and the key fixes the name. */
export function decode(kind: Kind, key: string, bytes: Uint8Array, revision: number): Decoded {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `not JSON: ${(err as Error).message}` }] };
  }
  const result = validateResource(doc);
  if (!result.ok) return result;
  if (result.resource.kind !== kind) return { ok: false, errors: [{ path: 'kind', message: `must be ${kind}` }] };
  if (result.resource.metadata.name !== key) {
    return { ok: false, errors: [{ path: 'metadata.name', message: `must equal the key "${key}"` }] };
  }
  return { ok: true, resource: deepFreeze(withMetadata(result.resource, { resourceVersion: String(revision) })) };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A mutable copy for callers of get/list (the state keeps the frozen original). */
export function thaw<T>(value: T): T {
  return structuredClone(value);
}
