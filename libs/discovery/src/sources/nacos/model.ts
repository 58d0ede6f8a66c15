/**
 * Nacos's naming JSON, read without I/O: a ServiceInfo (the body of `GET /v1/ns/instance/list` and the `data` of a
 * UDP push), grouped service names, and one host -> one Portico endpoint.
 *
 * Rules (README "Discovered service names" / source-common):
 * - weight: Nacos's double x 100 (1.0 -> 100), except Dubbo interface-level registrations (`providers:...`), whose
 *   `weight` URL parameter (Dubbo's default 100) is what Dubbo consumers balance by, so it wins when present;
 * - healthy: `healthy && enabled` (Nacos leaves disabled instances out of its lists anyway);
 * - zone: the instance's clusterName, except Nacos's placeholder `DEFAULT`;
 * - metadata: every entry, non-string values JSON-encoded;
 * - protocol: for Dubbo registrations the `protocol` entry (interface level) or the `dubbo.endpoints` entry for
 *   the instance's port (application level); http for everything else.
 */
import { type DiscoveredEndpoint, type EndpointProtocol, NACOS_DEFAULT_GROUP } from '@portico/config';
import type { DiscoveredService } from '../../source.ts';

type JsonObject = Record<string, unknown>;

/** Nacos's separator between group and service in a grouped name (`DEFAULT_GROUP@@orders`). */
export const GROUP_SEPARATOR = '@@';

export class NacosPayloadError extends Error {}

export interface ServiceInfo {
  /** The service name without its group. */
  service: string;
  group: string;
  /** The hosts as served (each still unchecked). */
  hosts: unknown[];
  /** How long the server says a client may cache this (ms); the client re-queries at this period. */
  cacheMillis: number;
  /** Server time (ms) when this view was made: a later one replaces an earlier one, never the reverse. */
  lastRefTime: number;
}

export interface BuiltService {
  service: DiscoveredService;
  skipped: Array<{ reason: string; raw: string }>;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `group@@service` -> its parts; a name without a group is in DEFAULT_GROUP (how Nacos reads it). */
export function splitGroupedName(name: string): { group: string; service: string } {
  const at = name.indexOf(GROUP_SEPARATOR);
  if (at < 0) return { group: NACOS_DEFAULT_GROUP, service: name };
  return { group: name.slice(0, at), service: name.slice(at + GROUP_SEPARATOR.length) };
}

export function groupedName(service: string, group: string): string {
  return `${group}${GROUP_SEPARATOR}${service}`;
}

/** Dubbo registers each consumer too (`consumers:<iface>:<version>:<group>`): nothing to route to. */
export function isConsumerEntry(service: string): boolean {
  return service.startsWith('consumers:');
}

/** A ServiceInfo JSON document (already parsed). Throws NacosPayloadError when it isn't one. */
export function parseServiceInfo(payload: unknown, fallbackGroup = NACOS_DEFAULT_GROUP): ServiceInfo {
  if (!isObject(payload)) throw new NacosPayloadError('not a Nacos ServiceInfo (not a JSON object)');
  const name = typeof payload.name === 'string' ? payload.name : typeof payload.dom === 'string' ? payload.dom : '';
  if (name === '') throw new NacosPayloadError('not a Nacos ServiceInfo (no "name")');
  if (payload.hosts !== undefined && payload.hosts !== null && !Array.isArray(payload.hosts))
    throw new NacosPayloadError(`ServiceInfo ${name}: "hosts" is not a list`);
  const split = splitGroupedName(name);
  // Lists name the service `group@@service` and carry groupName; v1 pushes carry the grouped name only.
  const group =
    typeof payload.groupName === 'string' && payload.groupName !== ''
      ? payload.groupName
      : name.includes(GROUP_SEPARATOR)
        ? split.group
        : fallbackGroup;
  const cacheMillis = Number(payload.cacheMillis);
  const lastRefTime = Number(payload.lastRefTime);
  return {
    service: split.service,
    group,
    hosts: Array.isArray(payload.hosts) ? payload.hosts : [],
    cacheMillis: Number.isFinite(cacheMillis) && cacheMillis > 0 ? cacheMillis : 10_000,
    lastRefTime: Number.isFinite(lastRefTime) ? lastRefTime : 0,
  };
}

/** `{count, doms}` from `GET /v1/ns/service/list`. */
export function parseServiceList(payload: unknown): { count: number; doms: string[] } {
  if (!isObject(payload) || !Array.isArray(payload.doms))
    throw new NacosPayloadError('not a Nacos service list (no "doms" list)');
  const count = Number(payload.count);
  return {
    count: Number.isFinite(count) ? count : payload.doms.length,
    doms: payload.doms.filter((d): d is string => typeof d === 'string' && d !== ''),
  };
}

const PROTOCOLS: Record<string, EndpointProtocol> = {
  dubbo: 'dubbo',
  tri: 'tri',
  triple: 'tri',
  grpc: 'grpc',
  http: 'http',
  rest: 'http',
  http2: 'http2',
  h2: 'http2',
  h2c: 'http2',
};

function isDubbo(service: string, metadata: Record<string, string>): boolean {
  return (
    service.startsWith('providers:') ||
    metadata['dubbo.endpoints'] !== undefined ||
    metadata['dubbo.metadata.revision'] !== undefined ||
    (metadata.side === 'provider' && metadata.protocol !== undefined)
  );
}

/** The protocol an instance speaks, or a reason it can't be routed. */
export function protocolOf(
  service: string,
  metadata: Record<string, string>,
  port: number,
): EndpointProtocol | { reason: string } {
  if (!isDubbo(service, metadata)) return 'http';
  let name = metadata.protocol;
  if (name === undefined && metadata['dubbo.endpoints'] !== undefined) {
    // Application-level Dubbo: [{"port":20880,"protocol":"dubbo"}, ...]; the instance's port picks the entry.
    try {
      const endpoints: unknown = JSON.parse(metadata['dubbo.endpoints']);
      if (Array.isArray(endpoints)) {
        const entries = endpoints.filter(isObject);
        const match = entries.find((e) => Number(e.port) === port) ?? entries[0];
        if (match !== undefined && typeof match.protocol === 'string') name = match.protocol;
      }
    } catch {
      return { reason: 'metadata "dubbo.endpoints" is not JSON' };
    }
  }
  if (name === undefined) return 'dubbo';
  const protocol = PROTOCOLS[name.toLowerCase()];
  return protocol ?? { reason: `unsupported protocol "${name}"` };
}

function metadataOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  return out;
}

function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

const ADDRESS = /^[A-Za-z0-9._:%-]{1,253}$/;
const MAX_WEIGHT = 1_000_000;

/** One Nacos host -> one endpoint, or the reason it is left out. `service` is the name without its group. */
export function toEndpoint(service: string, host: unknown): DiscoveredEndpoint | { reason: string } {
  if (!isObject(host)) return { reason: 'instance is not a JSON object' };
  const ip = host.ip;
  if (typeof ip !== 'string' || !ADDRESS.test(ip)) return { reason: `bad ip ${JSON.stringify(ip) ?? 'undefined'}` };
  const port = numberOf(host.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    return { reason: `bad port ${JSON.stringify(host.port) ?? 'undefined'}` };
  const metadata = metadataOf(host.metadata);
  if (metadata === undefined) return { reason: 'metadata is not a JSON object' };
  const nacosWeight = host.weight === undefined ? 1 : numberOf(host.weight);
  if (!Number.isFinite(nacosWeight) || nacosWeight < 0)
    return { reason: `bad weight ${JSON.stringify(host.weight) ?? 'undefined'}` };
  let weight = Math.round(nacosWeight * 100);
  if (service.startsWith('providers:') && metadata.weight !== undefined) {
    const dubboWeight = Number(metadata.weight);
    if (!Number.isInteger(dubboWeight) || dubboWeight < 0) return { reason: `bad Dubbo weight "${metadata.weight}"` };
    weight = dubboWeight;
  }
  const protocol = protocolOf(service, metadata, port);
  if (typeof protocol !== 'string') return protocol;
  const endpoint: DiscoveredEndpoint = {
    address: ip,
    port,
    weight: Math.min(weight, MAX_WEIGHT),
    healthy: host.healthy === true && host.enabled !== false,
    protocol,
    metadata,
  };
  const cluster = host.clusterName;
  if (typeof cluster === 'string' && cluster !== '' && cluster !== 'DEFAULT') endpoint.zone = cluster.slice(0, 128);
  return endpoint;
}

/** A ServiceInfo's hosts -> a DiscoveredService named `name`; bad hosts are listed in `skipped`, never thrown. */
export function buildService(name: string, info: Pick<ServiceInfo, 'service' | 'hosts'>): BuiltService {
  const endpoints: DiscoveredEndpoint[] = [];
  const skipped: BuiltService['skipped'] = [];
  const seen = new Set<string>();
  for (const host of info.hosts) {
    const result = toEndpoint(info.service, host);
    if ('reason' in result) {
      skipped.push({ reason: result.reason, raw: JSON.stringify(host) ?? String(host) });
      continue;
    }
    // One address:port once: the same instance in two clusters would double its weight.
    const key = `${result.address}:${result.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    endpoints.push(result);
  }
  endpoints.sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1));
  return { service: { name, endpoints }, skipped };
}
