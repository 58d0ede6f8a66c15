/** SRV answers as endpoints (RFC 2782), without I/O. */
import type { SrvRecord } from 'node:dns';
import type { DiscoveredEndpoint, EndpointProtocol } from '@portico/config';

/**
 * Endpoints for an SRV answer, given the addresses each target resolved to:
 * - only the lowest priority group is healthy (the others are its fallbacks, published but not routed);
 * - weight is the record's, as is; a group whose weights are all 0 gets 1 each, since RFC 2782 then means
 *   "pick evenly" while Portico's weight 0 means "no traffic";
 * - the port is the record's; a target `.` (service decidedly not available) or one without addresses gives none.
 */
export function srvEndpoints(
  records: readonly SrvRecord[],
  addresses: ReadonlyMap<string, readonly string[]>,
  protocol: EndpointProtocol,
): DiscoveredEndpoint[] {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.');
  if (usable.length === 0) return [];
  const best = Math.min(...usable.map((r) => r.priority));
  const zeroGroups = new Set<number>();
  for (const priority of new Set(usable.map((r) => r.priority)))
    if (usable.every((r) => r.priority !== priority || r.weight === 0)) zeroGroups.add(priority);
  const out: DiscoveredEndpoint[] = [];
  for (const r of usable) {
    for (const address of addresses.get(r.name) ?? []) {
      out.push({
        address,
        port: r.port,
        weight: zeroGroups.has(r.priority) ? 1 : r.weight,
        healthy: r.priority === best,
        protocol,
        metadata: { target: r.name, priority: String(r.priority) },
      });
    }
  }
  return sortEndpoints(out);
}

/** A stable order, so two equal answers compare equal whatever order the server sent them in. */
export function sortEndpoints(endpoints: DiscoveredEndpoint[]): DiscoveredEndpoint[] {
  return endpoints.sort(
    (a, b) =>
      cmp(a.address, b.address) ||
      a.port - b.port ||
      cmp(a.metadata.target ?? '', b.metadata.target ?? '') ||
      a.weight - b.weight,
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
