import type { Kind } from '@portico/config';
import { BusOptionsError } from './errors.ts';

export const DEFAULT_BUCKET_PREFIX = 'portico';
const PREFIX_RULE = /^[A-Za-z0-9_-]{1,64}$/;

export function assertBucketPrefix(prefix: string): void {
  if (!PREFIX_RULE.test(prefix)) throw new BusOptionsError('bucketPrefix', 'must be 1-64 of A-Z a-z 0-9 _ -');
}

/** The one place bucket names are built: `<prefix>_<kind lowercase>`, e.g. `portico_route`. */
export function bucketName(prefix: string, kind: Kind): string {
  return `${prefix}_${kind.toLowerCase()}`;
}

/** The one place keys are built. Resource names are already KV-key safe (lowercase, digits, '-', '.'). */
export function resourceKey(name: string): string {
  return name;
}
