/**
 * Instances under `<servicesRoot>/<name>/<id>`: Curator x-discovery ServiceInstance JSON, written by Spring Cloud
 * Zookeeper and by Dubbo 3 application-level registration (both with a ZookeeperInstance payload):
 * `{"name","id","address","port","sslPort","payload":{"@class",id,name,"metadata":{...}},"registrationTimeUTC",
 * "serviceType","uriSpec","enabled"}` (`enabled` since Curator 4). Pure functions: no I/O.
 */
import type { DiscoveredEndpoint, EndpointProtocol } from '@portico/config';
import { hostProblem, parsePort } from './address.ts';
import { DUBBO_DEFAULT_WEIGHT, type Parsed } from './dubbo-url.ts';

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const MAX_WEIGHT = 1_000_000;

/** Dubbo 3: the instance's protocols and ports, JSON `[{"port":20880,"protocol":"dubbo"}, ...]`. */
export const DUBBO_ENDPOINTS_KEY = 'dubbo.endpoints';
/** Spring Cloud Zookeeper's status key; anything but UP (case-insensitive) takes the instance out. */
export const INSTANCE_STATUS_KEY = 'instance_status';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One instance's data as an endpoint, or why it was left out (not JSON, no address, bad port, garbage metadata or
 * `dubbo.endpoints`, bad weight).
 * - protocol: from Dubbo 3's `dubbo.endpoints` (tri preferred, then dubbo, with that endpoint's port), else http.
 * - port: `sslPort` when set (Spring Cloud does the same; metadata `secure` is then "true"), else `port`.
 * - weight: metadata `weight`; Dubbo instances on Dubbo's scale (default 100), others (Spring Cloud's convention,
 *   default 1) times 100.
 * - healthy: false when `enabled` is false or metadata `instance_status` is set and isn't UP.
 * - zone: metadata `zone` (Spring Cloud LoadBalancer's zone key).
 */
export function parseCuratorInstance(data: Buffer | string | null | undefined): Parsed<DiscoveredEndpoint> {
  const text = typeof data === 'string' ? data : (data?.toString('utf8') ?? '');
  if (text.trim() === '') return fail('no instance data');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('instance data is not JSON');
  }
  if (!isObject(json)) return fail('instance data is not a JSON object');

  const address = json.address;
  if (typeof address !== 'string' || address === '') return fail('missing address');
  const problem = hostProblem(address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address);
  if (problem !== undefined) return fail(problem);

  const payload = json.payload ?? null;
  if (payload !== null && !isObject(payload)) return fail('payload is not a JSON object');
  const rawMetadata = payload?.metadata ?? null;
  if (rawMetadata !== null && !isObject(rawMetadata)) return fail('payload metadata is not a JSON object');
  const metadata = new Map<string, string>();
  for (const [k, v] of Object.entries(rawMetadata ?? {})) {
    if (v === null || v === undefined) continue;
    metadata.set(k, typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
  }

  const dubbo = [...metadata.keys()].some((k) => k.startsWith('dubbo.'));
  let protocol: EndpointProtocol = 'http';
  let port: number | undefined;
  const endpointsJson = metadata.get(DUBBO_ENDPOINTS_KEY);
  if (endpointsJson !== undefined) {
    const endpoints = parseDubboEndpoints(endpointsJson);
    if (endpoints === undefined) return fail(`bad ${DUBBO_ENDPOINTS_KEY} "${endpointsJson.slice(0, 200)}"`);
    const chosen = endpoints.find((e) => e.protocol === 'tri') ?? endpoints.find((e) => e.protocol === 'dubbo');
    if (chosen !== undefined) {
      protocol = chosen.protocol as 'tri' | 'dubbo';
      port = chosen.port;
    }
  }
  if (port === undefined) {
    const sslPort = json.sslPort ?? null;
    if (sslPort !== null) {
      port = parsePort(sslPort);
      if (port === undefined) return fail(`bad sslPort ${JSON.stringify(sslPort)}`);
      metadata.set('secure', 'true');
    } else {
      port = parsePort(json.port);
      if (port === undefined) return fail(`bad port ${JSON.stringify(json.port ?? null)}`);
    }
  }

  let weight = dubbo ? DUBBO_DEFAULT_WEIGHT : 100;
  const rawWeight = metadata.get('weight');
  if (rawWeight !== undefined) {
    const w = rawWeight.trim() === '' ? Number.NaN : Number(rawWeight);
    if (!Number.isFinite(w) || w < 0 || (dubbo && !Number.isInteger(w))) return fail(`bad weight "${rawWeight}"`);
    weight = Math.min(Math.round(dubbo ? w : w * 100), MAX_WEIGHT);
  }

  const status = metadata.get(INSTANCE_STATUS_KEY);
  const healthy = json.enabled !== false && (status === undefined || status.toUpperCase() === 'UP');
  const zone = metadata.get('zone');
  const endpoint: DiscoveredEndpoint = {
    address: address.startsWith('[') ? address.slice(1, -1) : address,
    port,
    weight,
    healthy,
    protocol,
    metadata: Object.fromEntries(metadata),
  };
  if (zone !== undefined && zone !== '' && zone.length <= 128) endpoint.zone = zone;
  return { ok: true, value: endpoint };
}

function parseDubboEndpoints(text: string): Array<{ port: number; protocol: string }> | undefined {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const out: Array<{ port: number; protocol: string }> = [];
  for (const e of list) {
    if (!isObject(e) || typeof e.protocol !== 'string') return undefined;
    const port = parsePort(e.port);
    if (port === undefined) return undefined;
    out.push({ port, protocol: e.protocol });
  }
  return out;
}
