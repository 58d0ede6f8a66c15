/** Host and port checks shared by the ZooKeeper parsers. Pure: no DNS lookups. */
import { isIPv4, isIPv6 } from 'node:net';

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** Why `host` (IPv6 without brackets) can't be routed to, or undefined when it can. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'missing host';
  if (isIPv4(host)) return host === '0.0.0.0' ? 'unroutable address 0.0.0.0' : undefined;
  if (isIPv6(host)) return /^[0:]+$/.test(host) ? `unroutable address ${host}` : undefined;
  if (/^[0-9.]+$/.test(host)) return `bad IPv4 address "${host}"`;
  return HOSTNAME.test(host) ? undefined : `bad host "${host}"`;
}

/** A TCP port from its decimal text or a JSON number, or undefined when it isn't one (0 included). */
export function parsePort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^[0-9]{1,5}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65_535 ? n : undefined;
}
