import type { ServiceSpec } from '@portico/config';
import type { Headers } from './types.ts';

type LoadBalancer = ServiceSpec['loadBalancer'];

/**
 * The ConsistentHash key of a request: the configured header's value, cookie's value or the client IP.
 * undefined when the balancer is not ConsistentHash or the request lacks the value (the cluster then picks at random).
 * `headers` have lower-case names, as node:http gives them.
 */
export function hashKeyFor(
  lb: LoadBalancer | undefined,
  headers: Headers | Record<string, string | string[] | undefined>,
  clientIp: string | undefined,
): string | undefined {
  if (lb?.type !== 'ConsistentHash' || lb.consistentHash === undefined) return undefined;
  const by = lb.consistentHash;
  if (by.header !== undefined) {
    const v = headers[by.header.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  if (by.cookie !== undefined) return cookieValue(headers.cookie, by.cookie);
  if (by.sourceIP) return clientIp;
  return undefined;
}

function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      if (pair.slice(0, eq).trim() === name) {
        const value = pair.slice(eq + 1).trim();
        return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
      }
    }
  }
  return undefined;
}
