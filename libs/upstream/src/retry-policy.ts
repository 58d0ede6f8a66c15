import { durationMs, type RouteRetry } from '@portico/config';
import type { RetryPolicy } from './types.ts';

/** Statuses retried when a route has `retry` but no `codes`. */
export const DEFAULT_RETRY_CODES: readonly number[] = [502, 503, 504];
export const DEFAULT_BACKOFF_MS = 25;

/** A route rule's `retry` as the cluster uses it. Compile once per routing snapshot, not per request. */
export function retryPolicyFrom(retry: RouteRetry): RetryPolicy {
  return {
    attempts: retry.attempts,
    codes: new Set(retry.codes ?? DEFAULT_RETRY_CODES),
    backoffMs: retry.backoff === undefined ? DEFAULT_BACKOFF_MS : durationMs(retry.backoff),
    nonIdempotent: retry.nonIdempotent,
    budgetPercent: retry.budgetPercent,
    minRetryConcurrency: retry.minRetryConcurrency,
  };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Jittered exponential backoff before retry number `retry` (1-based): between half and all of base * 2^(retry-1), capped at 10x base. */
export function backoffDelay(baseMs: number, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(baseMs * 2 ** (retry - 1), baseMs * 10);
  return ceiling / 2 + random() * (ceiling / 2);
}
