/**
 * Nacos source: Nacos's v1 naming API (served by Nacos 1.x, 2.x and 3.x) with UDP push, the way Nacos's own v1
 * clients read it.
 * - Full sync (at start, every `refreshInterval`, after an outage): for each group of `spec.groups` (DEFAULT_GROUP
 *   when absent) in `spec.namespace` (public), page through `/v1/ns/service/list`, then list every service's
 *   instances with our UDP port, which also subscribes us to its pushes -> snapshot(). Services gone from the list
 *   are left out of the snapshot (v1 has no unsubscribe: the server forgets a subscriber that stops listing).
 * - Push: each pushed ServiceInfo of a tracked service -> update() when its endpoints changed (an empty host list
 *   too: the last instance went away). A view older than the one held (its lastRefTime) is ignored.
 * - Re-query: every tracked service is listed again every `cacheMillis` the server asks for (10 s by default, at
 *   most refreshInterval), as v1 clients do: it keeps the subscription alive on the server, repairs a lost push and
 *   notices an outage.
 * - Outage: a failed listing -> down() once, retries with backoff (capped at the re-query period and 5 s), then a
 *   full sync -> snapshot(). A server that comes back with no instances at all (a restarted standalone server,
 *   before its clients register again) is not believed for one refreshInterval: the last known endpoints stay,
 *   stale, until instances reappear.
 * - Skipped: `consumers:*` services (Dubbo consumer registrations). Malformed hosts -> skipped(), once per reason.
 * Service names: nacosServiceName(service, group, namespace). Host -> endpoint rules: ./nacos/model.ts.
 *
 * Why not the `nacos` npm client (nacos-naming 2.6.3) for this: its subscribe() lists and subscribes only cluster
 * DEFAULT unless cluster names are given (instances in any other cluster are never seen), it drops a ServiceInfo
 * with no hosts as invalid (the last instance leaving is never reported), its public API has no service list, and
 * it logs failures instead of reporting them. Checked against a real Nacos 3.1 in libs/discovery/test/nacos.int.test.ts.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { durationMs, NACOS_DEFAULT_GROUP, NACOS_DEFAULT_NAMESPACE, nacosServiceName } from '@portico/config';
import {
  type DiscoveredService,
  type DiscoverySource,
  type SourceFactory,
  type SourceInit,
  wanted,
} from '../../source.ts';
import { PollLoop } from '../poll-loop.ts';
import { SkipReporter } from '../skip-reporter.ts';
import { NacosResponseError } from './errors.ts';
import {
  buildService,
  groupedName,
  isConsumerEntry,
  NacosPayloadError,
  parseServiceInfo,
  parseServiceList,
  type ServiceInfo,
} from './model.ts';
import { NacosHttp } from './naming-http.ts';
import { PushReceiver } from './push-receiver.ts';

const MAX_RETRY_MS = 5_000;
const PAGE_SIZE = 500;
const PARALLEL_LISTS = 8;

export const nacosSource: SourceFactory<'nacos'> = (init) => new NacosSource(init);

interface Tracked {
  /** The Portico name (nacosServiceName). */
  name: string;
  service: string;
  group: string;
  lastRefTime: number;
  built: DiscoveredService | undefined;
  /** JSON of the endpoints last published, so a repeated view publishes nothing. */
  published: string | undefined;
  /** In a snapshot already: only then do changes go out as update(). */
  announced: boolean;
}

class NacosSource implements DiscoverySource {
  readonly #sink: SourceInit<'nacos'>['sink'];
  readonly #spec: SourceInit<'nacos'>['spec'];
  readonly #namespace: string;
  readonly #groups: readonly string[];
  readonly #refreshMs: number;
  readonly #http: NacosHttp;
  readonly #push: PushReceiver;
  readonly #local: boolean;
  #clientIp = '127.0.0.1';
  #trusted = new Set<string>();
  /** By grouped name (`group@@service`). */
  readonly #tracked = new Map<string, Tracked>();
  readonly #skips: SkipReporter;
  #requeryMs: number;
  #lastFullAt = 0;
  #needFull = true;
  #emptySince: number | undefined;
  readonly #abort = new AbortController();
  readonly #loop: PollLoop;

  constructor({ spec, sink }: SourceInit<'nacos'>) {
    this.#sink = sink;
    this.#skips = new SkipReporter(sink);
    this.#spec = spec;
    this.#namespace = spec.namespace ?? NACOS_DEFAULT_NAMESPACE;
    this.#groups = spec.groups ?? [NACOS_DEFAULT_GROUP];
    this.#refreshMs = Math.max(1, durationMs(spec.refreshInterval));
    this.#requeryMs = Math.min(10_000, this.#refreshMs);
    this.#local = spec.addresses.every((a) => isLoopback(hostOf(a)));
    this.#http = new NacosHttp({
      addresses: spec.addresses,
      namespace: this.#namespace,
      credentials: spec.credentials,
      timeoutMs: Math.min(10_000, Math.max(1_000, this.#requeryMs)),
      signal: this.#abort.signal,
    });
    this.#loop = new PollLoop({
      round: () =>
        this.#needFull || Date.now() - this.#lastFullAt >= this.#refreshMs ? this.#fullSync() : this.#requery(),
      periodMs: this.#requeryMs,
      maxRetryMs: Math.min(this.#requeryMs, MAX_RETRY_MS),
      down: (error) => this.#sink.down(error),
      failed: () => {
        this.#needFull = true;
      },
    });
    this.#push = new PushReceiver({
      bind: this.#local ? '127.0.0.1' : '0.0.0.0',
      trusted: (address) => this.#trusted.has(address) || (this.#local && isLoopback(address)),
      onServiceInfo: (payload) => this.#onPush(payload),
    });
  }

  async start(): Promise<void> {
    this.#clientIp = this.#local ? '127.0.0.1' : externalIpv4();
    try {
      await this.#push.start();
    } catch {
      // No UDP port: no pushes, the re-query every cacheMillis still follows every change.
    }
    await this.#loop.start();
  }

  async stop(): Promise<void> {
    const stopping = this.#loop.stop();
    this.#abort.abort();
    await stopping;
    await this.#push.close();
  }

  async #fullSync(): Promise<void> {
    const hadEndpoints = this.#hadEndpoints();
    await this.#refreshTrusted();
    const listed = new Map<string, { service: string; group: string }>();
    for (const group of this.#groups) {
      for (const service of await this.#listGroup(group)) {
        if (isConsumerEntry(service) || !this.#wanted(service, group)) continue;
        listed.set(groupedName(service, group), { service, group });
      }
    }
    for (const [key, { service, group }] of listed) {
      if (this.#tracked.has(key)) continue;
      const name = nacosServiceName(service, group, this.#namespace);
      this.#tracked.set(key, {
        name,
        service,
        group,
        lastRefTime: 0,
        built: undefined,
        published: undefined,
        announced: false,
      });
    }
    for (const [key, t] of this.#tracked) {
      if (listed.has(key)) continue;
      this.#tracked.delete(key);
      this.#skips.forget(t.name);
    }
    const keys = [...this.#tracked.keys()];
    const infos = await mapLimit(keys, PARALLEL_LISTS, (key) => this.#listInstances(key));
    const services: DiscoveredService[] = [];
    let endpoints = 0;
    for (const [i, key] of keys.entries()) {
      const t = this.#tracked.get(key);
      const info = infos[i];
      if (t === undefined) continue;
      if (info !== undefined) this.#apply(t, info, false);
      if (t.built === undefined) continue; // its listing was unreadable (reported); not in this snapshot
      services.push(t.built);
      endpoints += t.built.endpoints.length;
    }
    if (this.#loop.down && endpoints === 0 && hadEndpoints) {
      // Back, but empty: most likely restarted and waiting for its clients to register again. Keep the stale
      // endpoints for one refresh interval rather than publish an empty registry.
      this.#emptySince ??= Date.now();
      if (Date.now() - this.#emptySince < this.#refreshMs) throw new Error('Nacos is back but holds no instances yet');
    }
    this.#emptySince = undefined;
    for (const t of this.#tracked.values()) {
      if (t.built === undefined) continue;
      t.announced = true;
      t.published = JSON.stringify(t.built.endpoints);
    }
    this.#lastFullAt = Date.now();
    this.#needFull = false;
    this.#loop.recovered();
    this.#sink.snapshot(services);
  }

  async #requery(): Promise<void> {
    const keys = [...this.#tracked.keys()];
    const infos = await mapLimit(keys, PARALLEL_LISTS, (key) => this.#listInstances(key));
    for (const [i, key] of keys.entries()) {
      const t = this.#tracked.get(key);
      const info = infos[i];
      if (t !== undefined && info !== undefined) this.#apply(t, info, true);
    }
  }

  async #listGroup(group: string): Promise<string[]> {
    const names: string[] = [];
    for (let page = 1; ; page++) {
      const payload = await this.#http.serviceList(group, page, PAGE_SIZE);
      let list: { count: number; doms: string[] };
      try {
        list = parseServiceList(payload);
      } catch (error) {
        // Without the list nothing can be told about deletions: a failed listing, like an unreachable server.
        throw new NacosResponseError(`service list of group ${group}: ${(error as Error).message}`, 200, error);
      }
      names.push(...list.doms);
      if (list.doms.length < PAGE_SIZE || names.length >= list.count) return names;
    }
  }

  /** A service's ServiceInfo, or undefined when the answer was not one (reported as skipped; the rest goes on). */
  async #listInstances(key: string): Promise<ServiceInfo | undefined> {
    const t = this.#tracked.get(key);
    if (t === undefined) return undefined;
    const payload = await this.#http.instanceList(key, this.#push.port, this.#clientIp);
    try {
      return parseServiceInfo(payload, t.group);
    } catch (error) {
      if (!(error instanceof NacosPayloadError)) throw error;
      this.#skips.report(t.name, [{ reason: error.message, raw: JSON.stringify(payload)?.slice(0, 2000) ?? '' }]);
      return undefined;
    }
  }

  #onPush(payload: unknown): void {
    if (this.#loop.stopped) return;
    let info: ServiceInfo;
    try {
      info = parseServiceInfo(payload);
    } catch {
      return; // not a ServiceInfo: the re-query will tell
    }
    const t = this.#tracked.get(groupedName(info.service, info.group));
    if (t !== undefined) this.#apply(t, info, true);
  }

  /** Takes a view of one service if it is not older than the one held; publishes it when asked and changed. */
  #apply(t: Tracked, info: ServiceInfo, publish: boolean): void {
    if (info.lastRefTime < t.lastRefTime) return;
    t.lastRefTime = info.lastRefTime;
    this.#noteCacheMillis(info.cacheMillis);
    const built = buildService(t.name, info);
    this.#skips.report(t.name, built.skipped);
    t.built = built.service;
    if (!publish || !t.announced || this.#loop.down) return;
    const json = JSON.stringify(built.service.endpoints);
    if (json === t.published) return;
    t.published = json;
    this.#sink.update(built.service);
  }

  #noteCacheMillis(cacheMillis: number): void {
    this.#requeryMs = Math.max(1_000, Math.min(cacheMillis, this.#refreshMs, 60_000));
  }

  #hadEndpoints(): boolean {
    for (const t of this.#tracked.values()) if (t.published !== undefined && t.published !== '[]') return true;
    return false;
  }

  /** The `services` filter may name a service bare (`orders`), grouped (`g@@orders`) or by its Portico name. */
  #wanted(service: string, group: string): boolean {
    if (this.#spec.services === undefined) return true;
    return (
      wanted(this.#spec, service) ||
      wanted(this.#spec, groupedName(service, group)) ||
      wanted(this.#spec, nacosServiceName(service, group, this.#namespace))
    );
  }

  /** Pushes are taken from the registry's own addresses only (resolved again at every full sync). */
  async #refreshTrusted(): Promise<void> {
    const trusted = new Set<string>();
    for (const address of this.#spec.addresses) {
      const host = hostOf(address);
      if (isIP(host) !== 0) {
        trusted.add(host);
        continue;
      }
      try {
        for (const { address: ip } of await lookup(host, { all: true })) trusted.add(ip);
      } catch {
        // unresolvable now: the listing below fails over or reports the outage
      }
    }
    this.#trusted = trusted;
  }
}

function hostOf(address: string): string {
  const at = address.lastIndexOf(':');
  const host = at < 0 ? address : address.slice(0, at);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '::ffff:127.0.0.1';
}

/** The address a remote Nacos can push to: the first external IPv4, as Nacos's own clients pick it. */
function externalIpv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) if (nic.family === 'IPv4' && !nic.internal) return nic.address;
  }
  return '127.0.0.1';
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
