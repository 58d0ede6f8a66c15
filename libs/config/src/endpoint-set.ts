/**
 * EndpointSet: the endpoints of one discovered service, written by the discovery syncer (one per service, in its
 * own bucket) and read by the front proxy. Users read these; they rarely write them.
 */
import { z } from 'zod';
import { PortNumber, ResourceName } from './common.ts';
import { EndpointProtocol } from './registry.ts';

export const DiscoveredEndpoint = z.strictObject({
  address: z.string().min(1).max(253),
  port: PortNumber,
  /** Relative to the other endpoints of the same set; 0 takes no traffic. Integers (registries' own scale). */
  weight: z.number().int().min(0).max(1_000_000),
  /** False for unhealthy or disabled instances: published so people can see them, never routed. */
  healthy: z.boolean(),
  zone: z.string().max(128).optional(),
  protocol: EndpointProtocol,
  /** The registry's instance metadata, as strings. */
  metadata: z.record(z.string(), z.string()).default({}),
});

export const EndpointSetSpec = z.strictObject({
  /** The Registry resource this came from. */
  registry: ResourceName,
  /** The service name by the registry's convention (README: "Discovered service names"). */
  service: z.string().min(1).max(1024),
  /** True while the registry is unreachable: these are the last known endpoints. */
  stale: z.boolean().default(false),
  /** Changes whenever the endpoints change (the registry's own revision where it has one). */
  revision: z.string().min(1).max(128),
  endpoints: z.array(DiscoveredEndpoint).max(100_000),
  /**
   * Dubbo: the interface's service definition (FullServiceDefinition JSON) as its provider published it in the
   * metadata report; the transcoder types calls by it.
   */
  serviceDefinition: z
    .string()
    .max(512 * 1024)
    .optional(),
});

export type EndpointSetSpec = z.infer<typeof EndpointSetSpec>;
export type DiscoveredEndpoint = z.infer<typeof DiscoveredEndpoint>;

/**
 * The resource name of a service's endpoint set: readable, KV-key safe and unique. Service names carry characters
 * resource names can't (`providers:com.example.Demo:1.0.0:`, `orders.DEFAULT_GROUP.public`), so the readable part
 * is folded to the allowed set and a hash of the exact name keeps two foldings apart.
 */
export function endpointSetName(registry: string, service: string): string {
  const folded = service
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 180);
  return `${registry}.${folded === '' ? 'x' : folded}-${fnv1a(service)}`;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
