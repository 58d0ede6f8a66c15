/** Writing resources to a bus with the answer `kubectl apply` gives; shared by the admin API and the CLI. */
import type { ConfigBus } from '@portico/bus';
import type { Kind, Resource } from '@portico/config';
import type { ErrorDetail } from '@portico/errors';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: Kind;
  name: string;
  result: ApplyOutcome;
}

/** One error per resource named twice in the same batch (the later one would silently win otherwise). */
export function findDuplicates(resources: readonly Resource[], documents?: readonly string[]): ErrorDetail[] {
  const seen = new Set<string>();
  const errors: ErrorDetail[] = [];
  resources.forEach((r, i) => {
    const key = `${r.kind}/${r.metadata.name}`;
    if (seen.has(key)) {
      const detail: ErrorDetail = { path: 'metadata.name', message: `${key} appears more than once` };
      const document = documents?.[i];
      if (document !== undefined) detail.document = document;
      errors.push(detail);
    }
    seen.add(key);
  });
  return errors;
}

/** Writes one resource (already validated) and says what happened to it. */
export async function applyOne(bus: ConfigBus, resource: Resource): Promise<ApplyResult> {
  const existed = (await bus.get(resource.kind, resource.metadata.name)) !== undefined;
  const { changed } = await bus.put(resource);
  const result: ApplyOutcome = !changed ? 'unchanged' : existed ? 'configured' : 'created';
  return { kind: resource.kind, name: resource.metadata.name, result };
}

/** Writes validated resources in order; stops at the first failed write (earlier writes stay). */
export async function applyResources(bus: ConfigBus, resources: readonly Resource[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const resource of resources) results.push(await applyOne(bus, resource));
  return results;
}
