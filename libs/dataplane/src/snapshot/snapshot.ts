/**
 * A routing snapshot: everything a request needs, compiled once from one ConfigState and never mutated. A request
 * keeps the snapshot it started with, so a config change never touches an in-flight request. Each rule compiles
 * into its phases (policies and filters, pipeline/) and its backends (by kind, backends/); the route table hands
 * the compiled rule straight to the request.
 */
import type { ConfigState } from '@portico/bus';
import { type Certificate, DEFAULT_UPGRADES, durationMs, type RouteRule, type Service } from '@portico/config';
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
import { DiscoveredIndex, type EndpointProtocols } from './discovered.ts';

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
  /**
   * The transcoder service (`portico transcoder`): backends of the RPC kinds (Grpc) are sent to it as they
   * came, to be transcoded there, instead of in this process. Default: transcoded here.
   */
  transcoder?: { address: string; port: number } | undefined;
}

/** Backend kinds a transcoder serves. */
export const RPC_KINDS: ReadonlySet<string> = new Set(['Grpc', 'Dubbo']);

/** The Service a remote transcoder is reached through: HTTP/1.1 keep-alive, like any Service. */
function transcoderService(address: string, port: number): Service {
  return {
    apiVersion: 'portico.dev/v1',
    kind: 'Service',
    // Parentheses are in no Service or discovered name, so this cluster never shares a key with one.
    metadata: { name: '(transcoder)' },
    spec: { protocol: 'http', endpoints: [{ address, port, weight: 1 }], loadBalancer: { type: 'RoundRobin' } },
  };
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
    cluster(ref: ServiceBackendRef, protocols: EndpointProtocols = 'http') {
      const key = `${ref.registry ?? ''}\u0000${ref.name}\u0000${ref.version ?? ''}\u0000${ref.group ?? ''}\u0000${ref.port ?? ''}\u0000${protocols}`;
      if (resolved.has(key)) return resolved.get(key);
      // '/' can't appear in a Service name, so a discovered backend's cluster never collides with one; the
      // Dubbo endpoints of a service are a cluster of their own, apart from its HTTP ones.
      const suffix = protocols === 'http' ? '' : ` (${protocols})`;
      const service =
        ref.registry !== undefined
          ? discovered.service(
              `${ref.registry}/${ref.name}${suffix}`,
              { ...ref, registry: ref.registry },
              undefined,
              protocols,
            )
          : serviceOrDiscovered(ref.name, suffix, protocols);
      const cluster = service === undefined ? undefined : clusters.get(service, ref.port);
      if (cluster !== undefined) used.add(cluster);
      resolved.set(key, cluster);
      return cluster;
    },
    endpointSet: (ref) => discovered.set(ref),
    attachment: (cluster, key, make) => clusters.attachment(cluster, key, make),
  };
  const serviceOrDiscovered = (name: string, suffix: string, protocols: EndpointProtocols) => {
    const service = services.get(name);
    const d = service?.spec.discovery;
    if (d === undefined) return service;
    return discovered.service(`${name}${suffix}`, d, service, protocols);
  };

  const policies = options.policies?.(state, env) ?? NO_POLICIES;
  let remote: BackendTarget | undefined;
  if (options.transcoder !== undefined) {
    const cluster = clusters.get(transcoderService(options.transcoder.address, options.transcoder.port), undefined);
    used.add(cluster);
    remote = { handler: cluster };
  }
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
        target: remote !== undefined && RPC_KINDS.has(kind) ? remote : BACKEND_KINDS[kind].compile(ref, env),
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
