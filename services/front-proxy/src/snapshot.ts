/**
 * A routing snapshot: everything a request needs, compiled once from one ConfigState and never mutated.
 * A request reads the snapshot current when it arrived and keeps it to the end, so a config change never
 * touches an in-flight request. Upstream clusters outlive snapshots (pools and health state are kept) and are
 * owned by the ClusterSet.
 */

import type { ConfigState } from '@portico/bus';
import { type Certificate, durationMs, type Route, type Service, type ServiceSpec } from '@portico/config';
import type { ProxyMetrics } from '@portico/observability';
import { compileRoutes, type RouteTable } from '@portico/router';
import { type RetryPolicy, retryPolicyFrom, UpstreamCluster } from '@portico/upstream';
import {
  type CompiledCors,
  compileCors,
  compileHeaderModifier,
  compileHeadListModifier,
  type HeaderEdit,
  type HeadListEdit,
} from './filters.ts';

type RuleFilter = NonNullable<Route['spec']['rules'][number]['filters']>[number];
type RedirectSpec = Extract<RuleFilter, { type: 'RequestRedirect' }>['requestRedirect'];
type UrlRewriteSpec = Extract<RuleFilter, { type: 'URLRewrite' }>['urlRewrite'];

export interface RouteObserver {
  observe(statusCode: number, seconds: number): void;
}

export interface CompiledBackend {
  name: string;
  weight: number;
  /** undefined when the Service does not exist: requests get a 500 (Gateway API). */
  cluster: UpstreamCluster | undefined;
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

export function compileSnapshot(state: ConfigState, clusters: ClusterSet, metrics: ProxyMetrics): Snapshot {
  const services = state.get('Service');
  const routes = [...state.get('Route').values()];
  const used = new Set<UpstreamCluster>();
  const clusterFor = (name: string, port: number | undefined): UpstreamCluster | undefined => {
    const service = services.get(name);
    if (service === undefined) return undefined;
    const cluster = clusters.get(service, port);
    used.add(cluster);
    return cluster;
  };

  const rules = new Map<Route, CompiledRule[]>();
  for (const route of routes) {
    const name = route.metadata.name;
    rules.set(
      route,
      route.spec.rules.map((rule, index): CompiledRule => {
        const filters = rule.filters ?? [];
        const find = <T extends RuleFilter['type']>(type: T) =>
          filters.find((f): f is Extract<RuleFilter, { type: T }> => f.type === type);
        const backends = (rule.backendRefs ?? []).map((ref) => ({
          name: ref.name,
          weight: ref.weight,
          cluster: clusterFor(ref.name, ref.port),
          loadBalancer: services.get(ref.name)?.spec.loadBalancer,
          observer: metrics.forRoute(name, ref.name),
        }));
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
              cluster: clusterFor(f.requestMirror.backendRef.name, f.requestMirror.backendRef.port),
              percent: f.requestMirror.percent,
            })),
          cors: cors && compileCors(cors.cors),
          requestTimeoutMs: rule.timeouts?.request ? durationMs(rule.timeouts.request) : undefined,
          backendTimeoutMs: rule.timeouts?.backendRequest ? durationMs(rule.timeouts.backendRequest) : undefined,
          retry: rule.retry && retryPolicyFrom(rule.retry),
          observer: metrics.forRoute(name, ''),
        };
      }),
    );
  }
  clusters.retain(used);
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
