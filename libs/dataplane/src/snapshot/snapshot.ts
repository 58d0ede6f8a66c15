/**
 * A routing snapshot: everything a request needs, compiled once from one ConfigState and never mutated. A request
 * keeps the snapshot it started with, so a config change never touches an in-flight request. Each rule compiles
 * into its phases (policies and filters, pipeline/) and its backends (by kind, backends/); the route table hands
 * the compiled rule straight to the request.
 */
import type { ConfigState } from '@portico/bus';
import { type Certificate, DEFAULT_UPGRADES, durationMs, type RouteRule } from '@portico/config';
import type { ProxyMetrics, RouteObserver } from '@portico/observability';
import { compileRoutes, type RouteTable } from '@portico/router';
import { type RetryPolicy, retryPolicyFrom, type UpstreamCluster } from '@portico/upstream';
import { BACKEND_KINDS } from '../backends/index.ts';
import type { BackendTarget } from '../backends/kind.ts';
import type { FilterModule } from '../filters/filter.ts';
import { FILTERS } from '../filters/index.ts';
import { type PhaseLists, type Phases, phaseLists } from '../pipeline/phases.ts';
import { NO_POLICIES, orderedPhases, type PolicySource } from '../pipeline/policies.ts';
import type { ClusterSet } from './clusters.ts';
import type { CompileEnv, ServiceBackendRef } from './compile-env.ts';
import { DiscoveredIndex } from './discovered.ts';

export interface CompiledBackend {
  name: string;
  kind: string;
  weight: number;
  /** undefined when the ref names nothing that exists: requests get a 500 (Gateway API). */
  target: BackendTarget | undefined;
  /** Backend-level policies. */
  phases: PhaseLists;
  observer: RouteObserver;
}

export interface CompiledRule {
  route: string;
  index: number;
  backends: CompiledBackend[];
  totalWeight: number;
  /** Gateway and route policies, then the rule's filters. */
  phases: PhaseLists;
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
  readonly table: RouteTable<CompiledRule>;
  readonly certificates: readonly Certificate[];
}

export interface CompileOptions {
  /** Gateway-, route- and backend-level policies; default none. */
  policies?: PolicySource | undefined;
}

export function compileSnapshot(
  state: ConfigState,
  clusters: ClusterSet,
  metrics: ProxyMetrics,
  options: CompileOptions = {},
): Snapshot {
  const services = state.get('Service');
  const discovered = new DiscoveredIndex(state);
  const used = new Set<UpstreamCluster>();
  // One lookup per distinct ref and snapshot: a thousand routes to one Service resolve it once.
  const resolved = new Map<string, UpstreamCluster | undefined>();
  const env: CompileEnv = {
    state,
    cluster(ref: ServiceBackendRef) {
      const key = `${ref.registry ?? ''}\u0000${ref.name}\u0000${ref.version ?? ''}\u0000${ref.group ?? ''}\u0000${ref.port ?? ''}`;
      if (resolved.has(key)) return resolved.get(key);
      const service =
        // '/' can't appear in a Service name, so a discovered backend's cluster never collides with one.
        ref.registry !== undefined
          ? discovered.service(`${ref.registry}/${ref.name}`, { ...ref, registry: ref.registry })
          : serviceOrDiscovered(ref.name);
      const cluster = service === undefined ? undefined : clusters.get(service, ref.port);
      if (cluster !== undefined) used.add(cluster);
      resolved.set(key, cluster);
      return cluster;
    },
    attachment: (cluster, key, make) => clusters.attachment(cluster, key, make),
  };
  const serviceOrDiscovered = (name: string) => {
    const service = services.get(name);
    const d = service?.spec.discovery;
    return d === undefined ? service : discovered.service(name, d, service);
  };
  const policies = options.policies?.(state, env) ?? NO_POLICIES;
  const gatewayPhases = orderedPhases(policies.gateway());

  const compileRule = (routeName: string, rule: RouteRule, index: number): CompiledRule => {
    const phases: Phases[] = [...gatewayPhases, ...orderedPhases(policies.route(routeName))];
    for (const filter of rule.filters ?? []) phases.push((FILTERS[filter.type] as FilterModule).compile(filter, env));
    const backends = (rule.backendRefs ?? []).map((ref): CompiledBackend => {
      const kind = ref.kind ?? 'Service';
      return {
        name: ref.name,
        kind,
        weight: ref.weight,
        target: BACKEND_KINDS[kind].compile(ref, env),
        phases: phaseLists(orderedPhases(policies.backend(kind, ref.name))),
        observer: metrics.forRoute(routeName, ref.name),
      };
    });
    return {
      route: routeName,
      index,
      backends,
      totalWeight: backends.reduce((sum, b) => sum + b.weight, 0),
      phases: phaseLists(phases),
      requestTimeoutMs: rule.timeouts?.request ? durationMs(rule.timeouts.request) : undefined,
      backendTimeoutMs: rule.timeouts?.backendRequest ? durationMs(rule.timeouts.backendRequest) : undefined,
      retry: rule.retry && retryPolicyFrom(rule.retry),
      upgrades: new Set((rule.upgrades ?? DEFAULT_UPGRADES).map((p) => p.toLowerCase())),
      observer: metrics.forRoute(routeName, ''),
    };
  };

  const table = compileRoutes([...state.get('Route').values()], (route, index) =>
    compileRule(route.metadata.name, route.spec.rules[index]!, index),
  );
  clusters.retain(used);
  const sets = state.get('EndpointSet');
  metrics.setDiscovered({ [Symbol.iterator]: () => sets.values() });
  return { revision: state.revision, table, certificates: [...state.get('Certificate').values()] };
}
