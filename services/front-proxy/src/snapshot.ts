/**
 * A routing snapshot: everything a request needs, compiled once from one ConfigState and never mutated.
 * A request reads the snapshot current when it arrived and keeps it to the end, so a config change never
 * touches an in-flight request. Upstream clusters outlive snapshots (pools and health state are kept) and are
 * owned by the ClusterSet.
 */

import type { ConfigState } from '@portico/bus';
import {
  API_VERSION,
  type Certificate,
  candidateServiceNames,
  DEFAULT_UPGRADES,
  durationMs,
  type EndpointSet,
  type Registry,
  type Route,
  type Service,
  type ServiceRef,
  type ServiceSpec,
} from '@portico/config';
import type { ProxyMetrics } from '@portico/observability';
import { compileRoutes, type RouteTable } from '@portico/router';
import {
  type CallHandle,
  type ClusterRequest,
  type ResponseSink,
  type RetryPolicy,
  retryPolicyFrom,
  UpstreamCluster,
} from '@portico/upstream';
import { echoBackend } from './echo-backend.ts';
import {
  type CompiledCors,
  compileCors,
  compileHeaderModifier,
  compileHeadListModifier,
  type HeaderEdit,
  type HeadListEdit,
} from './filters.ts';

type BackendTarget = ServiceRef & { registry?: string | undefined; port?: number | undefined };
type RuleFilter = NonNullable<Route['spec']['rules'][number]['filters']>[number];
type RedirectSpec = Extract<RuleFilter, { type: 'RequestRedirect' }>['requestRedirect'];
type UrlRewriteSpec = Extract<RuleFilter, { type: 'URLRewrite' }>['urlRewrite'];

export interface RouteObserver {
  observe(statusCode: number, seconds: number): void;
}

/** Where a backend's requests go: an UpstreamCluster, or an in-process backend such as the built-in Echo. */
export interface Dispatcher {
  dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle;
}

export interface CompiledBackend {
  name: string;
  weight: number;
  /** undefined when the Service does not exist: requests get a 500 (Gateway API). */
  cluster: Dispatcher | undefined;
  loadBalancer: ServiceSpec['loadBalancer'] | undefined;
  observer: RouteObserver;
}

export interface CompiledMirror {
  cluster: UpstreamCluster | undefined;
  name: string;
  percent: number;
}

export interface CompiledRule {
  route: string;
  index: number;
  backends: CompiledBackend[];
  totalWeight: number;
  requestHeaders: HeadListEdit | undefined;
  responseHeaders: HeaderEdit | undefined;
  redirect: RedirectSpec | undefined;
  rewrite: UrlRewriteSpec | undefined;
  mirrors: CompiledMirror[];
  cors: CompiledCors | undefined;
  requestTimeoutMs: number | undefined;
  backendTimeoutMs: number | undefined;
  retry: RetryPolicy | undefined;
  /** Upgrade protocol names this rule tunnels, lower-case (`rules[].upgrades`, default websocket). */
  upgrades: ReadonlySet<string>;
  /** Observer used when no backend was reached (redirects, CORS preflights, errors). */
  observer: RouteObserver;
}

export interface Snapshot {
  readonly revision: number;
  readonly table: RouteTable;
  readonly rules: ReadonlyMap<Route, CompiledRule[]>;
  readonly certificates: readonly Certificate[];
}

const CLOSE_GRACE_MS = 5_000;

/** Keeps one UpstreamCluster per (service, port) across snapshots. */
export class ClusterSet {
  readonly #clusters = new Map<string, { cluster: UpstreamCluster; service: Service }>();

  get(service: Service, port: number | undefined): UpstreamCluster {
    const key = port === undefined ? service.metadata.name : `${service.metadata.name}:${port}`;
    const effective = port === undefined ? service : withPort(service, port);
    const entry = this.#clusters.get(key);
    if (entry === undefined) {
      const cluster = new UpstreamCluster(effective);
      this.#clusters.set(key, { cluster, service: effective });
      return cluster;
    }
    if (!sameSpec(entry.service, effective)) {
      entry.cluster.update(effective);
      entry.service = effective;
    }
    return entry.cluster;
  }

  /** Closes clusters no snapshot uses any more; their in-flight requests finish first. */
  retain(used: ReadonlySet<UpstreamCluster>): void {
    for (const [key, entry] of this.#clusters) {
      if (used.has(entry.cluster)) continue;
      this.#clusters.delete(key);
      // Requests that took the previous snapshot may still be about to dispatch (or retry) on it.
      setTimeout(() => void entry.cluster.close(), CLOSE_GRACE_MS).unref();
    }
  }

  async close(): Promise<void> {
    const all = [...this.#clusters.values()].map((e) => e.cluster.close());
    this.#clusters.clear();
    await Promise.allSettled(all);
  }
}

function withPort(service: Service, port: number): Service {
  return { ...service, spec: { ...service.spec, endpoints: service.spec.endpoints.map((e) => ({ ...e, port })) } };
}

function sameSpec(a: Service, b: Service): boolean {
  return JSON.stringify(a.spec) === JSON.stringify(b.spec);
}

/** Protocols the HTTP proxy can speak to; `dubbo` endpoints are the transcoder's. */
const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'tri']);

/** Discovered services by registry and name, for one snapshot. */
class DiscoveredIndex {
  readonly #registries: ReadonlyMap<string, Registry>;
  readonly #sets = new Map<string, EndpointSet>();

  constructor(state: ConfigState) {
    this.#registries = state.get('Registry');
    for (const set of state.get('EndpointSet').values())
      this.#sets.set(`${set.spec.registry}\u0000${set.spec.service}`, set);
  }

  /**
   * The Service a discovered backend stands for: `base` (a Service with `discovery`, for its balancing and health
   * settings) or defaults, with the set's routable endpoints. undefined when the Registry doesn't exist.
   */
  service(name: string, ref: ServiceRef & { registry: string }, base?: Service): Service | undefined {
    const registry = this.#registries.get(ref.registry);
    if (registry === undefined) return undefined;
    const candidates = candidateServiceNames(registry.spec, ref);
    let set: EndpointSet | undefined;
    for (const candidate of candidates) {
      set = this.#sets.get(`${ref.registry}\u0000${candidate}`);
      if (set !== undefined) break;
    }
    const endpoints = (set?.spec.endpoints ?? [])
      .filter((e) => e.healthy && e.weight > 0 && HTTP_PROTOCOLS.has(e.protocol))
      .map((e) =>
        e.zone === undefined
          ? { address: e.address, port: e.port, weight: e.weight }
          : { address: e.address, port: e.port, weight: e.weight, zone: e.zone },
      );
    const spec: ServiceSpec = base?.spec ?? { protocol: 'http', endpoints: [], loadBalancer: { type: 'RoundRobin' } };
    return {
      apiVersion: API_VERSION,
      kind: 'Service',
      metadata: { name },
      spec: { ...spec, endpoints },
    };
  }
}

export function compileSnapshot(state: ConfigState, clusters: ClusterSet, metrics: ProxyMetrics): Snapshot {
  const services = state.get('Service');
  const routes = [...state.get('Route').values()];
  const discovered = new DiscoveredIndex(state);
  const used = new Set<UpstreamCluster>();
  const use = (service: Service | undefined, port: number | undefined) => {
    if (service === undefined) return undefined;
    const cluster = clusters.get(service, port);
    used.add(cluster);
    return cluster;
  };
  const serviceFor = (ref: BackendTarget): Service | undefined => {
    // '/' can't appear in a Service name, so a discovered backend's cluster never collides with one.
    if (ref.registry !== undefined)
      return discovered.service(`${ref.registry}/${ref.name}`, { ...ref, registry: ref.registry });
    const service = services.get(ref.name);
    const d = service?.spec.discovery;
    return d === undefined ? service : discovered.service(ref.name, d, service);
  };
  const clusterFor = (ref: BackendTarget): UpstreamCluster | undefined => use(serviceFor(ref), ref.port);

  const rules = new Map<Route, CompiledRule[]>();
  for (const route of routes) {
    const name = route.metadata.name;
    rules.set(
      route,
      route.spec.rules.map((rule, index): CompiledRule => {
        const filters = rule.filters ?? [];
        const find = <T extends RuleFilter['type']>(type: T) =>
          filters.find((f): f is Extract<RuleFilter, { type: T }> => f.type === type);
        const backends = (rule.backendRefs ?? []).map(
          (ref): CompiledBackend =>
            ref.kind === 'Echo'
              ? {
                  name: ref.name,
                  weight: ref.weight,
                  cluster: echoBackend,
                  loadBalancer: undefined,
                  observer: metrics.forRoute(name, ref.name),
                }
              : {
                  name: ref.name,
                  weight: ref.weight,
                  cluster: clusterFor(ref),
                  loadBalancer: ref.registry === undefined ? services.get(ref.name)?.spec.loadBalancer : undefined,
                  observer: metrics.forRoute(name, ref.name),
                },
        );
        const reqMod = find('RequestHeaderModifier');
        const resMod = find('ResponseHeaderModifier');
        const cors = find('CORS');
        return {
          route: name,
          index,
          backends,
          totalWeight: backends.reduce((sum, b) => sum + b.weight, 0),
          requestHeaders: reqMod && compileHeadListModifier(reqMod.requestHeaderModifier),
          responseHeaders: resMod && compileHeaderModifier(resMod.responseHeaderModifier),
          redirect: find('RequestRedirect')?.requestRedirect,
          rewrite: find('URLRewrite')?.urlRewrite,
          mirrors: filters
            .filter((f) => f.type === 'RequestMirror')
            .map((f) => ({
              name: f.requestMirror.backendRef.name,
              cluster: clusterFor(f.requestMirror.backendRef),
              percent: f.requestMirror.percent,
            })),
          cors: cors && compileCors(cors.cors),
          requestTimeoutMs: rule.timeouts?.request ? durationMs(rule.timeouts.request) : undefined,
          backendTimeoutMs: rule.timeouts?.backendRequest ? durationMs(rule.timeouts.backendRequest) : undefined,
          retry: rule.retry && retryPolicyFrom(rule.retry),
          upgrades: new Set((rule.upgrades ?? DEFAULT_UPGRADES).map((p) => p.toLowerCase())),
          observer: metrics.forRoute(name, ''),
        };
      }),
    );
  }
  clusters.retain(used);
  const sets = state.get('EndpointSet');
  metrics.setDiscovered({ [Symbol.iterator]: () => sets.values() });
  return {
    revision: state.revision,
    table: compileRoutes(routes),
    rules,
    certificates: [...state.get('Certificate').values()],
  };
}

/** Weighted choice between a rule's backends (Gateway API weights are proportional). */
export function pickBackend(rule: CompiledRule): CompiledBackend | undefined {
  const { backends, totalWeight } = rule;
  if (totalWeight <= 0) return undefined;
  if (backends.length === 1) return backends[0];
  let r = Math.random() * totalWeight;
  for (const b of backends) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return backends[backends.length - 1];
}
