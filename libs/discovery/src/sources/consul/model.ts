/**
 * Pure transforms from Consul's documented JSON (GET /v1/catalog/services, GET /v1/health/service/:name) to
 * discovered services. No I/O, so the unit tests feed recorded responses.
 *
 * Instance -> endpoint:
 * - address: Service.Address, else Node.Address (Consul: "if empty, node address should be used");
 * - weight: Service.Weights.Passing x 100 (Consul's default weight 1 -> Portico's 100), capped at 1,000,000;
 * - healthy: every check of the entry (the node's and the service's) is `passing` — exactly what `?passing` keeps,
 *   so a warning, a failing TTL, or maintenance mode (a critical check) takes the instance out of rotation;
 * - metadata: Service.Meta as strings; protocol: Meta `protocol` (http, http2, grpc, dubbo, tri), else a `grpc`,
 *   `dubbo` or `tri` tag, else http. The datacenter is not a zone.
 * Instances without every one of the Registry's tags are left out (a filter, not a fault). An instance with a bad
 * address, port, weight, Meta or protocol is skipped with a reason; the others go on.
 */
import { isIP } from 'node:net';
import type { DiscoveredEndpoint, EndpointProtocol } from '@portico/config';
import { type DiscoveredService, wanted } from '../../source.ts';
import { ConsulResponseError } from './errors.ts';

export interface ConsulAddress {
  host: string;
  port: number;
  secure: boolean;
  /** As written in the Registry. */
  label: string;
}

/** `host:port` (plain HTTP) or an http(s) URL, as the Registry schema allows. */
export function parseAddress(address: string): ConsulAddress {
  if (/^https?:\/\//i.test(address)) {
    const url = new URL(address);
    const secure = url.protocol === 'https:';
    return {
      host: url.hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      secure,
      label: address,
    };
  }
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)), secure: false, label: address };
}

/** The services to watch, from `/v1/catalog/services` (name -> every tag its instances carry), sorted. */
export function selectServices(
  catalog: unknown,
  spec: { services?: readonly string[] | undefined; tags?: readonly string[] | undefined },
): string[] {
  if (typeof catalog !== 'object' || catalog === null || Array.isArray(catalog))
    throw new ConsulResponseError('GET /v1/catalog/services: expected an object of service name -> tags');
  const required = spec.tags ?? [];
  const names: string[] = [];
  for (const [name, tags] of Object.entries(catalog)) {
    if (!wanted(spec, name)) continue;
    const carried = Array.isArray(tags) ? tags : [];
    // The list holds the union of the instances' tags: a service lacking one here has no instance that carries all.
    if (required.every((t) => carried.includes(t))) names.push(name);
  }
  return names.sort();
}

export interface Skip {
  /** Dedupe key: the instance and the reason. */
  key: string;
  reason: string;
  raw: string;
}

export type EndpointResult = { endpoint: DiscoveredEndpoint } | { skip: Skip } | { filtered: true };

const PROTOCOLS: ReadonlySet<string> = new Set<EndpointProtocol>(['http', 'http2', 'grpc', 'dubbo', 'tri']);
const TAG_PROTOCOLS: readonly EndpointProtocol[] = ['grpc', 'dubbo', 'tri'];
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const MAX_WEIGHT = 1_000_000;
const RAW_LIMIT = 2_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validHost(h: string): boolean {
  if (isIP(h) !== 0) return true;
  if (/^[0-9.]+$/.test(h)) return false; // looks like IPv4 but is not one
  return HOSTNAME.test(h);
}

/** One `/v1/health/service/:name` entry -> an endpoint, a skip (with why), or filtered out by the tag filter. */
export function toEndpoint(entry: unknown, requiredTags: readonly string[] = []): EndpointResult {
  const raw = () => {
    const text = JSON.stringify(isObject(entry) && isObject(entry.Service) ? entry.Service : entry) ?? String(entry);
    return text.length > RAW_LIMIT ? `${text.slice(0, RAW_LIMIT)}...` : text;
  };
  if (!isObject(entry) || !isObject(entry.Service)) {
    return { skip: { key: `?|no Service`, reason: 'entry without a Service object', raw: raw() } };
  }
  const svc = entry.Service;
  const node = isObject(entry.Node) ? entry.Node : {};
  const id = typeof svc.ID === 'string' ? svc.ID : '?';
  const skip = (reason: string): EndpointResult => ({ skip: { key: `${id}|${reason}`, reason, raw: raw() } });

  const tags = Array.isArray(svc.Tags) ? svc.Tags.filter((t): t is string => typeof t === 'string') : [];
  if (!requiredTags.every((t) => tags.includes(t))) return { filtered: true };

  const own = typeof svc.Address === 'string' ? svc.Address.trim() : '';
  const address = own !== '' ? own : typeof node.Address === 'string' ? node.Address.trim() : '';
  if (address === '') return skip(`instance ${id}: no address (neither Service.Address nor Node.Address)`);
  if (!validHost(address)) return skip(`instance ${id}: bad address ${JSON.stringify(address)}`);

  const port = svc.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)
    return skip(`instance ${id}: bad port ${JSON.stringify(port)}`);

  let passing = 1;
  if (svc.Weights !== undefined && svc.Weights !== null) {
    const w = isObject(svc.Weights) ? svc.Weights.Passing : undefined;
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0)
      return skip(`instance ${id}: bad Weights ${JSON.stringify(svc.Weights)}`);
    passing = w;
  }

  const metadata: Record<string, string> = {};
  if (svc.Meta !== undefined && svc.Meta !== null) {
    if (!isObject(svc.Meta)) return skip(`instance ${id}: Meta is not an object`);
    for (const [k, v] of Object.entries(svc.Meta)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }

  let protocol: EndpointProtocol = 'http';
  const declared = metadata.protocol?.trim().toLowerCase();
  if (declared !== undefined && declared !== '') {
    if (!PROTOCOLS.has(declared)) return skip(`instance ${id}: unsupported protocol ${JSON.stringify(declared)}`);
    protocol = declared as EndpointProtocol;
  } else {
    const lower = tags.map((t) => t.toLowerCase());
    protocol = TAG_PROTOCOLS.find((p) => lower.includes(p)) ?? 'http';
  }

  const checks = Array.isArray(entry.Checks) ? entry.Checks : [];
  const healthy = checks.every((c) => isObject(c) && c.Status === 'passing');

  return {
    endpoint: { address, port, weight: Math.min(passing * 100, MAX_WEIGHT), healthy, protocol, metadata },
  };
}

/**
 * A health response -> the service (every instance, unhealthy ones with healthy: false) and what was skipped.
 * Endpoints are sorted so the same instances always compare equal. `undefined` when the body is not a list.
 */
export function buildService(
  name: string,
  entries: unknown,
  index: bigint,
  requiredTags: readonly string[] = [],
): { service: DiscoveredService; skipped: Skip[] } | undefined {
  if (!Array.isArray(entries)) return undefined;
  const endpoints: DiscoveredEndpoint[] = [];
  const skipped: Skip[] = [];
  for (const entry of entries) {
    const r = toEndpoint(entry, requiredTags);
    if ('endpoint' in r) endpoints.push(r.endpoint);
    else if ('skip' in r) skipped.push(r.skip);
  }
  endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
  return { service: { name, endpoints, revision: String(index) }, skipped };
}
