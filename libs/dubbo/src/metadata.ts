/**
 * Method signatures of a Dubbo interface from the metadata its provider publishes, so a call without explicit
 * parameter types is typed exactly (`jsonToJava` with the parameter types and the POJO/enum definitions).
 *
 * What a Dubbo 3.3 provider publishes (checked against the provider of e2e/peers, register mode all):
 * - The metadata report (ZooKeeper `/dubbo/metadata/<interface>/<version>/<group>/provider/<application>`, Nacos
 *   config `<interface>:<version>:<group>:provider:<application>` in group `dubbo`) holds the FullServiceDefinition
 *   JSON: every method's `parameterTypes` (generic, `java.util.List<com.example.Item>`) and a `types` list of
 *   TypeDefinitions (`properties` field -> type, `enums`). A ZooKeeper registry is the metadata centre by default.
 * - The MetadataService (`org.apache.dubbo.metadata.MetadataService`, group = application name, version 1.0.0) is
 *   exported on the dubbo protocol port with `service.filter=-default` (no GenericFilter: only non-generic calls
 *   answer). Its `getServiceDefinition(interface, version, group)` answers "" in every Dubbo 3.x, and
 *   `getMetadataInfo(revision)` lists services and URL parameters without parameter types. The instance's
 *   `dubbo.metadata-service.url-params` announce MetadataServiceV2 (version 2.0.0, Triple/protobuf) on the tri port,
 *   which serves the same MetadataInfo. Only Dubbo 2.7 providers in service-discovery mode answer a definition.
 * So the definitions come through a `DubboDefinitionLoader`: the metadata report's reader (ZooKeeper, Nacos) lives
 * with the registry clients; `metadataServiceLoader` asks the provider itself and finds nothing on Dubbo 3.x.
 * No definition means no signatures: the transcoder then makes the untyped generic call.
 */

import { DubboClient } from './client.ts';
import { DubboError, DubboOptionError } from './errors.ts';
import { type JavaTypeDefinition, type JavaTypeDefinitions, jsonToJava } from './json-to-java.ts';

/** The service whose definition is wanted, and the provider it is wanted from. */
export interface DubboServiceKey {
  /** Provider `host:port` (dubbo protocol). */
  endpoint: { host: string; port: number };
  interface: string;
  version?: string | undefined;
  group?: string | undefined;
  /** The provider's application name (`application` of its URL); MetadataService and the report key use it. */
  application?: string | undefined;
}

/** Loads the FullServiceDefinition JSON of a service; undefined when there is none. */
export type DubboDefinitionLoader = (key: DubboServiceKey, signal: AbortSignal) => Promise<string | undefined>;

export interface DubboMethodSignature {
  name: string;
  parameterTypes: readonly string[];
  returnType: string;
}

export interface DubboServiceSignatures {
  interface: string;
  /** Method name -> its overloads. */
  methods: ReadonlyMap<string, readonly DubboMethodSignature[]>;
  /** POJO and enum definitions for `jsonToJava`. */
  types: JavaTypeDefinitions;
}

/** What the transcoder needs of a signature source: the signatures of a service, and a way to have them re-read. */
export interface DubboSignatureSource {
  /** Undefined when the provider publishes none, or they could not be read in time. */
  signatures(key: DubboServiceKey): Promise<DubboServiceSignatures | undefined>;
  /** Re-read on next use (a method unknown to the cached copy, a provider that says "no such method"). */
  invalidate(key: DubboServiceKey): void;
}

/** The method is not in the provider's published definition (re-read once before this is thrown). */
export class DubboMethodNotFoundError extends DubboError {
  constructor(iface: string, method: string) {
    super('PORTICO_ERR_DUBBO_METHOD_NOT_FOUND', 404, `${iface} has no method ${method} (per the provider's metadata)`);
    this.details.push({ path: 'method', message: `no method ${method} in ${iface}` });
  }
}

/** No overload takes the arguments given, or several do: the client must send `x-dubbo-types`. */
export class DubboOverloadError extends DubboError {
  /** `fitting`: the overloads taking `argCount` arguments; `all`: every overload of the method. */
  constructor(
    method: string,
    argCount: number,
    fitting: readonly DubboMethodSignature[],
    all: readonly DubboMethodSignature[],
  ) {
    const named = fitting.length === 0 ? all : fitting;
    const list = named.map((c) => `${method}(${c.parameterTypes.join(', ')})`).join('; ');
    const message =
      fitting.length === 0
        ? `no overload of ${method} takes ${argCount} arguments`
        : `${fitting.length} overloads of ${method} take ${argCount} arguments: send x-dubbo-types to choose`;
    super('PORTICO_ERR_DUBBO_ARGUMENT', 400, message);
    this.details.push({ path: 'args', message: `${message} (${list})` });
  }
}

/** A definition that is not FullServiceDefinition JSON. */
export class DubboMetadataFormatError extends DubboError {
  constructor(message: string) {
    super('PORTICO_ERR_DUBBO_METADATA_FORMAT', 502, `unreadable service definition: ${message}`);
  }
}

/**
 * Signatures from a definition that reaches the data plane through the config bus (the discovery syncer publishes
 * it in the service's EndpointSet): nothing is fetched; each snapshot hands the current text over. A definition
 * that cannot be read gives no signatures (calls are then untyped generic calls).
 */
export class PublishedSignatures implements DubboSignatureSource {
  #text: string | undefined;
  #parsed: DubboServiceSignatures | null | undefined;

  update(text: string | undefined): void {
    if (text === this.#text) return;
    this.#text = text;
    this.#parsed = undefined;
  }

  async signatures(): Promise<DubboServiceSignatures | undefined> {
    if (this.#text === undefined) return undefined;
    if (this.#parsed === undefined) {
      try {
        this.#parsed = parseServiceDefinition(this.#text);
      } catch {
        this.#parsed = null;
      }
    }
    return this.#parsed ?? undefined;
  }

  /** The next publication replaces the definition; nothing to re-read here. */
  invalidate(): void {}
}

/** FullServiceDefinition JSON (Dubbo's metadata report) -> signatures. */
export function parseServiceDefinition(json: string): DubboServiceSignatures {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new DubboMetadataFormatError((err as Error).message);
  }
  if (!isObject(doc) || typeof doc.canonicalName !== 'string' || !Array.isArray(doc.methods)) {
    throw new DubboMetadataFormatError('expected an object with canonicalName and methods');
  }
  const methods = new Map<string, DubboMethodSignature[]>();
  for (const m of doc.methods) {
    if (!isObject(m) || typeof m.name !== 'string' || !isStringArray(m.parameterTypes)) {
      throw new DubboMetadataFormatError('a method without a name or parameterTypes');
    }
    const signature = {
      name: m.name,
      parameterTypes: m.parameterTypes,
      returnType: typeof m.returnType === 'string' ? m.returnType : 'void',
    };
    methods.set(m.name, [...(methods.get(m.name) ?? []), signature]);
  }
  const types: Record<string, JavaTypeDefinition> = {};
  for (const t of Array.isArray(doc.types) ? doc.types : []) {
    if (!isObject(t) || typeof t.type !== 'string') continue;
    const enums = isStringArray(t.enums) ? t.enums : [];
    const properties = isObject(t.properties) ? stringValues(t.properties) : {};
    // Only classes that are POJOs or enums: JDK and collection types keep jsonToJava's own mapping.
    if (enums.length > 0) types[t.type] = { enums };
    else if (Object.keys(properties).length > 0 && !t.type.startsWith('java.')) types[t.type] = { properties };
  }
  return { interface: doc.canonicalName, methods, types: Object.freeze(types) };
}

/**
 * The overload of `method` for `argCount` arguments. Unknown method: 404; no overload or several with that count:
 * 400 naming the candidates.
 */
export function chooseSignature(
  signatures: DubboServiceSignatures,
  method: string,
  argCount: number,
): DubboMethodSignature {
  const overloads = signatures.methods.get(method);
  if (overloads === undefined) throw new DubboMethodNotFoundError(signatures.interface, method);
  const fitting = overloads.filter((o) => o.parameterTypes.length === argCount);
  if (fitting.length !== 1) throw new DubboOverloadError(method, argCount, fitting, overloads);
  return fitting[0] as DubboMethodSignature;
}

export interface DubboSignatureCacheOptions {
  /** Longest wait for one definition; a slower load counts as none. Default 2000. */
  fetchTimeoutMs?: number;
  /** How long a definition (or its absence) is kept. Default 300000. */
  ttlMs?: number;
  /** Shortest time between two reads of one service forced by `invalidate`. Default 1000. */
  minRefreshIntervalMs?: number;
}

const CACHE_DEFAULTS = {
  fetchTimeoutMs: 2000,
  ttlMs: 300_000,
  minRefreshIntervalMs: 1000,
} satisfies Required<DubboSignatureCacheOptions>;

interface CacheEntry {
  value: Promise<DubboServiceSignatures | undefined>;
  loadedAt: number;
  stale: boolean;
}

/**
 * Signatures per provider endpoint and service, loaded on first use with a bounded wait, kept for `ttlMs`, re-read
 * after `invalidate` (at most once per `minRefreshIntervalMs`). Concurrent requests share one load. A load that
 * fails, times out or finds nothing is remembered as "no signatures" for the same time.
 */
export class DubboSignatureCache implements DubboSignatureSource {
  readonly #load: DubboDefinitionLoader;
  readonly #options: Required<DubboSignatureCacheOptions>;
  readonly #entries = new Map<string, CacheEntry>();
  /** Load failures, for logs and tests. */
  readonly errors: unknown[] = [];

  constructor(load: DubboDefinitionLoader, options: DubboSignatureCacheOptions = {}) {
    if (typeof load !== 'function') throw new DubboOptionError('load', 'must be a function');
    const merged = { ...CACHE_DEFAULTS };
    for (const [key, value] of Object.entries(options) as Array<[keyof DubboSignatureCacheOptions, unknown]>) {
      if (value === undefined) continue;
      if (!(key in CACHE_DEFAULTS)) throw new DubboOptionError(key, 'is not an option of DubboSignatureCache');
      if (!Number.isInteger(value) || (value as number) < 1) throw new DubboOptionError(key, 'must be an integer >= 1');
      merged[key] = value as number;
    }
    this.#options = merged;
    this.#load = load;
  }

  signatures(key: DubboServiceKey): Promise<DubboServiceSignatures | undefined> {
    const id = cacheKey(key);
    const now = Date.now();
    const entry = this.#entries.get(id);
    const expired = entry !== undefined && now - entry.loadedAt >= this.#options.ttlMs;
    const refresh = entry?.stale === true && now - entry.loadedAt >= this.#options.minRefreshIntervalMs;
    if (entry !== undefined && !expired && !refresh) return entry.value;
    const value = this.#fetch(key);
    this.#entries.set(id, { value, loadedAt: now, stale: false });
    return value;
  }

  invalidate(key: DubboServiceKey): void {
    const entry = this.#entries.get(cacheKey(key));
    if (entry !== undefined) entry.stale = true;
  }

  async #fetch(key: DubboServiceKey): Promise<DubboServiceSignatures | undefined> {
    const signal = AbortSignal.timeout(this.#options.fetchTimeoutMs);
    try {
      const json = await Promise.race([
        this.#load(key, signal),
        new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
      ]);
      return json === undefined || json.trim() === '' ? undefined : parseServiceDefinition(json);
    } catch (err) {
      this.errors.push(err);
      return undefined;
    }
  }
}

const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';
const METADATA_SERVICE_VERSION = '1.0.0';
const STRING = 'java.lang.String';

/**
 * A loader that asks the provider's MetadataService (dubbo protocol port, group = `key.application`) for
 * `getServiceDefinition(interface, version, group)`. Dubbo 3.x providers answer "" (no definition); Dubbo 2.7
 * providers in service-discovery mode answer the FullServiceDefinition JSON.
 */
export function metadataServiceLoader(client: DubboClient): DubboDefinitionLoader {
  if (!(client instanceof DubboClient)) throw new DubboOptionError('client', 'must be a DubboClient');
  return async (key, signal) => {
    if (key.application === undefined || key.application === '') return undefined;
    signal.throwIfAborted();
    const answer = await client.invoke(key.endpoint, {
      interface: METADATA_SERVICE,
      version: METADATA_SERVICE_VERSION,
      group: key.application,
      method: 'getServiceDefinition',
      parameterTypes: [STRING, STRING, STRING],
      args: [key.interface, key.version ?? null, key.group ?? null],
      // The MetadataService runs without GenericFilter: only a plain call answers.
      generic: false,
    });
    return typeof answer === 'string' && answer !== '' ? answer : undefined;
  };
}

function cacheKey(key: DubboServiceKey): string {
  return `${key.endpoint.host}:${key.endpoint.port}/${key.group ?? ''}/${key.interface}:${key.version ?? ''}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The typed form of a call without explicit types: the overload for the argument count and the arguments mapped by
 * `jsonToJava` with the published POJO definitions. A method the cached definition lacks has the definition
 * re-read once (a newly deployed method) before the 404. Undefined when the provider publishes no definition.
 */
export async function typedByMetadata(
  source: DubboSignatureSource,
  key: DubboServiceKey,
  method: string,
  args: readonly unknown[],
): Promise<{ parameterTypes: readonly string[]; args: unknown[] } | undefined> {
  let signatures = await source.signatures(key);
  if (signatures !== undefined && !signatures.methods.has(method)) {
    source.invalidate(key);
    signatures = await source.signatures(key);
  }
  if (signatures === undefined) return undefined;
  const { parameterTypes } = chooseSignature(signatures, method, args.length);
  return { parameterTypes, args: jsonToJava(parameterTypes, args, { types: signatures.types }) };
}
