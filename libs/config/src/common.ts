import { z } from 'zod';

/** Gateway API Duration: 1 to 4 parts of <number><h|m|s|ms>, e.g. `10s`, `1m30s`, `500ms`. */
export const Duration = z
  .string()
  .regex(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, 'must be a Gateway API duration such as "500ms", "10s" or "1m30s"');

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds in a validated Duration string. */
export function durationMs(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(n) * unitMs[unit as string]!;
  return total;
}

/** Names are KV-key safe and DNS-1123 like (lowercase, digits, '-', '.'). */
export const ResourceName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be lowercase letters, digits, "-" or ".", starting and ending alphanumeric',
  );

/** Exact (`api.example.com`) or a leading wildcard label (`*.example.com`). */
export const Hostname = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a lowercase DNS name, optionally with a leading "*." wildcard label',
  );

export const HeaderName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, 'must be an HTTP header name (RFC 9110 token)');

export const PortNumber = z.number().int().min(1).max(65535);
