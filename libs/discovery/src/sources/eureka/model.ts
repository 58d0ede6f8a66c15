/**
 * Eureka's JSON, read without I/O: the `/apps` and `/apps/delta` payloads, the local copy a client keeps, the
 * apps hashcode that reconciles the two, and one instance -> one Portico endpoint.
 *
 * Wire quirks handled here (Eureka serializes with XStream-compatible Jackson mappers):
 * - `application` and `instance` are arrays on current servers, a single object (or absent) on older ones;
 * - ports are `{"$": 8080, "@enabled": "true"}`, the number and flag sometimes as strings, sometimes bare numbers;
 * - metadata carries a `@class` marker (`java.util.Collections$EmptyMap`) that is not user metadata.
 */
import { type DiscoveredEndpoint, eurekaServiceName } from '@portico/config';
import type { DiscoveredService } from '../../source.ts';

export type JsonObject = Record<string, unknown>;

/** What the local copy keeps per instance: the served JSON plus the two fields the hashcode and deltas need. */
export interface EurekaInstance {
  id: string;
  /** Upper case, as the server names apps. */
  app: string;
  status: string;
  raw: JsonObject;
}

/** App name (upper case) -> instance id -> instance. */
export type EurekaApps = Map<string, Map<string, EurekaInstance>>;

export interface ParsedApplications {
  apps: EurekaApps;
  /** `apps__hashcode` as served ('' when absent). */
  hashcode: string;
  /** Instances that could not be tracked at all (no id, no app): the reason and the raw JSON. */
  invalid: Array<{ app: string; reason: string; raw: string }>;
}

export interface DeltaEntry {
  action: 'ADDED' | 'MODIFIED' | 'DELETED';
  instance: EurekaInstance;
}

export interface ParsedDelta {
  entries: DeltaEntry[];
  hashcode: string;
  invalid: Array<{ app: string; reason: string; raw: string }>;
}

export class EurekaPayloadError extends Error {}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A list that older servers send as one object, or leave out, when it has zero or one element. */
function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null || value === '' ? [] : [value];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** An instance's id as Eureka computes it: instanceId, else (older servers, default data center) the host name. */
function instanceId(raw: JsonObject): string | undefined {
  const id = text(raw.instanceId);
  if (id !== undefined && id !== '') return id;
  const host = text(raw.hostName);
  return host !== undefined && host !== '' ? host : undefined;
}

function readInstances(
  payload: unknown,
  invalid: ParsedApplications['invalid'],
): Array<{ instance: EurekaInstance; action: string | undefined }> {
  if (!isObject(payload) || !isObject(payload.applications))
    throw new EurekaPayloadError('not an Eureka applications document (no "applications" object)');
  const out: Array<{ instance: EurekaInstance; action: string | undefined }> = [];
  for (const app of asList(payload.applications.application)) {
    if (!isObject(app)) continue;
    const appName = (text(app.name) ?? '').toUpperCase();
    for (const raw of asList(app.instance)) {
      if (!isObject(raw)) {
        invalid.push({ app: appName, reason: 'instance is not an object', raw: JSON.stringify(raw) });
        continue;
      }
      const name = appName !== '' ? appName : (text(raw.app) ?? '').toUpperCase();
      const id = instanceId(raw);
      if (name === '' || id === undefined) {
        invalid.push({ app: name, reason: 'instance has no app name or no instanceId/hostName', raw: trim(raw) });
        continue;
      }
      // Eureka always serializes the status; UNKNOWN stands in for a missing one so the count stays defined.
      const status = (text(raw.status) ?? 'UNKNOWN').toUpperCase();
      out.push({ instance: { id, app: name, status, raw }, action: text(raw.actionType)?.toUpperCase() });
    }
  }
  return out;
}

function hashcodeOf(payload: unknown): string {
  const apps = isObject(payload) && isObject(payload.applications) ? payload.applications : {};
  return text(apps.apps__hashcode) ?? '';
}

/** `GET /apps`: the full registry. */
export function parseApplications(payload: unknown): ParsedApplications {
  const invalid: ParsedApplications['invalid'] = [];
  const apps: EurekaApps = new Map();
  for (const { instance } of readInstances(payload, invalid)) putInstance(apps, instance);
  return { apps, hashcode: hashcodeOf(payload), invalid };
}

/** `GET /apps/delta`: the changes of the last few minutes (the server's retention window), each with its action. */
export function parseDelta(payload: unknown): ParsedDelta {
  const invalid: ParsedDelta['invalid'] = [];
  const entries: DeltaEntry[] = [];
  for (const { instance, action } of readInstances(payload, invalid)) {
    if (action === 'ADDED' || action === 'MODIFIED' || action === 'DELETED') entries.push({ action, instance });
    else invalid.push({ app: instance.app, reason: `unknown actionType "${action ?? ''}"`, raw: trim(instance.raw) });
  }
  return { entries, hashcode: hashcodeOf(payload), invalid };
}

function putInstance(apps: EurekaApps, instance: EurekaInstance): void {
  let app = apps.get(instance.app);
  if (app === undefined) {
    app = new Map();
    apps.set(instance.app, app);
  }
  app.set(instance.id, instance);
}

/**
 * Applies a delta to the local copy, as Eureka clients do: ADDED and MODIFIED replace the instance, DELETED drops
 * it (and its app when it was the last). Returns the names (upper case) of the apps it touched. Re-applying the
 * same delta is harmless, which matters: the server repeats every change for its whole retention window.
 */
export function applyDelta(apps: EurekaApps, entries: readonly DeltaEntry[]): Set<string> {
  const touched = new Set<string>();
  for (const { action, instance } of entries) {
    touched.add(instance.app);
    if (action === 'DELETED') {
      const app = apps.get(instance.app);
      app?.delete(instance.id);
      if (app?.size === 0) apps.delete(instance.app);
    } else {
      putInstance(apps, instance);
    }
  }
  return touched;
}

/**
 * The apps hashcode Eureka clients compare with the delta's `apps__hashcode` (Netflix eureka,
 * Applications.getReconcileHashCode): instance count per status, statuses in Java String order (a TreeMap), each
 * written `<STATUS>_<count>_`. E.g. `DOWN_1_UP_3_`; an empty registry is ''.
 */
export function reconcileHashcode(apps: EurekaApps): string {
  const counts = new Map<string, number>();
  for (const app of apps.values())
    for (const instance of app.values()) counts.set(instance.status, (counts.get(instance.status) ?? 0) + 1);
  // Java's String.compareTo orders by UTF-16 code unit, which is what `<` does (localeCompare would not).
  const statuses = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let code = '';
  for (const status of statuses) code += `${status}_${counts.get(status)}_`;
  return code;
}

export type EndpointResult = { ok: true; endpoint: DiscoveredEndpoint } | { ok: false; reason: string };

/** Metadata `weight` is relative to 1 (Spring Cloud's convention); Portico's scale puts the default at 100. */
const MAX_WEIGHT_FACTOR = 10_000;

function portOf(value: unknown): { port: unknown; enabled: boolean } {
  if (isObject(value)) {
    const flag = value['@enabled'];
    return { port: value.$, enabled: flag === true || (typeof flag === 'string' && flag.toLowerCase() === 'true') };
  }
  // A bare number: old JSON without the XML attribute wrapper; it is enabled by being there.
  return { port: value, enabled: value !== undefined && value !== null };
}

function validPort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^[0-9]{1,5}$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function metadataOf(raw: JsonObject): Record<string, string> | undefined {
  const meta = raw.metadata;
  if (meta === undefined || meta === null) return {};
  if (!isObject(meta)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (key.startsWith('@')) continue;
    out[key] = typeof value === 'string' ? value : (text(value) ?? JSON.stringify(value));
  }
  return out;
}

/**
 * One Eureka instance as a Portico endpoint, or why it can't be one (the caller skips it and goes on):
 * - address: hostName, else ipAddr (what Spring Cloud's clients dial: with `prefer-ip-address` the client puts its
 *   IP in hostName, without it hostName is the name the instance wants to be reached by);
 * - port: `port` when enabled, else `securePort` when enabled (then metadata `scheme` is `https`);
 * - healthy: status UP and no DOWN/OUT_OF_SERVICE override (the server already folds the override into `status`;
 *   the override is checked too for the moment between the two);
 * - weight: metadata `weight` x 100 (default 1 -> 100); zone: metadata `zone`, else the AWS availability zone.
 */
export function toEndpoint(instance: EurekaInstance): EndpointResult {
  const { raw } = instance;
  const address = text(raw.hostName)?.trim() || text(raw.ipAddr)?.trim();
  if (address === undefined || address === '') return { ok: false, reason: 'no ipAddr and no hostName' };
  if (address.length > 253 || /\s/.test(address)) return { ok: false, reason: `bad address "${address}"` };

  const metadata = metadataOf(raw);
  if (metadata === undefined) return { ok: false, reason: 'metadata is not an object' };

  const plain = portOf(raw.port);
  const secure = portOf(raw.securePort);
  let port: number | undefined;
  if (plain.enabled) {
    port = validPort(plain.port);
    if (port === undefined) return { ok: false, reason: `bad port ${JSON.stringify(plain.port)}` };
  } else if (secure.enabled) {
    port = validPort(secure.port);
    if (port === undefined) return { ok: false, reason: `bad securePort ${JSON.stringify(secure.port)}` };
    metadata.scheme = 'https';
  } else {
    return { ok: false, reason: 'neither port nor securePort is enabled' };
  }

  let weight = 100;
  if (metadata.weight !== undefined) {
    const factor = Number(metadata.weight);
    if (metadata.weight.trim() === '' || !Number.isFinite(factor) || factor < 0 || factor > MAX_WEIGHT_FACTOR)
      return {
        ok: false,
        reason: `bad weight metadata "${metadata.weight}" (a number from 0 to ${MAX_WEIGHT_FACTOR})`,
      };
    weight = Math.round(factor * 100);
  }

  const overridden = (text(raw.overriddenStatus) ?? text(raw.overriddenstatus) ?? 'UNKNOWN').toUpperCase();
  // Anything but UP (DOWN, OUT_OF_SERVICE, STARTING, UNKNOWN) is published unroutable.
  const healthy = instance.status === 'UP' && (overridden === 'UNKNOWN' || overridden === 'UP');

  const endpoint: DiscoveredEndpoint = { address, port, weight, healthy, protocol: 'http', metadata };
  const zone = metadata.zone || availabilityZone(raw);
  if (zone !== undefined && zone !== '') endpoint.zone = zone.slice(0, 128);
  return { ok: true, endpoint };
}

function availabilityZone(raw: JsonObject): string | undefined {
  const dc = raw.dataCenterInfo;
  if (!isObject(dc) || !isObject(dc.metadata)) return undefined;
  return text(dc.metadata['availability-zone']);
}

export interface BuiltService {
  service: DiscoveredService;
  skipped: Array<{ reason: string; raw: string }>;
}

/** One app of the local copy as a discovered service (endpoints in instance-id order, so equal apps compare equal). */
export function buildService(appName: string, instances: ReadonlyMap<string, EurekaInstance>): BuiltService {
  const endpoints: DiscoveredEndpoint[] = [];
  const skipped: BuiltService['skipped'] = [];
  const ids = [...instances.keys()].sort();
  for (const id of ids) {
    const instance = instances.get(id)!;
    const result = toEndpoint(instance);
    if (result.ok) endpoints.push(result.endpoint);
    else skipped.push({ reason: `instance ${id}: ${result.reason}`, raw: trim(instance.raw) });
  }
  return { service: { name: eurekaServiceName(appName), endpoints }, skipped };
}

/** Raw JSON for a skip report, bounded so one huge registration can't flood the logs. */
function trim(raw: unknown): string {
  const s = JSON.stringify(raw) ?? String(raw);
  return s.length > 2000 ? `${s.slice(0, 2000)}...` : s;
}
