import type { ConfigState } from '@portico/bus';
import {
  API_VERSION,
  candidateServiceNames,
  type EndpointSet,
  type Registry,
  type Service,
  type ServiceRef,
  type ServiceSpec,
} from '@portico/config';

/** Which endpoints of a discovered service a backend uses: what the HTTP proxy speaks, or Dubbo's own protocol. */
export type EndpointProtocols = 'http' | 'dubbo';

const PROTOCOLS: Record<EndpointProtocols, ReadonlySet<string>> = {
  http: new Set(['http', 'http2', 'grpc', 'tri']),
  dubbo: new Set(['dubbo']),
};

/** Discovered services by registry and name, for one snapshot. */
export class DiscoveredIndex {
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
  /** The EndpointSet of a discovered service, by the registry's naming; undefined when there is none. */
  set(ref: ServiceRef & { registry: string }): EndpointSet | undefined {
    const registry = this.#registries.get(ref.registry);
    if (registry === undefined) return undefined;
    for (const candidate of candidateServiceNames(registry.spec, ref)) {
      const set = this.#sets.get(`${ref.registry}\u0000${candidate}`);
      if (set !== undefined) return set;
    }
    return undefined;
  }

  service(
    name: string,
    ref: ServiceRef & { registry: string },
    base?: Service,
    protocols: EndpointProtocols = 'http',
  ): Service | undefined {
    if (!this.#registries.has(ref.registry)) return undefined;
    const set = this.set(ref);
    const endpoints = (set?.spec.endpoints ?? [])
      .filter((e) => e.healthy && e.weight > 0 && PROTOCOLS[protocols].has(e.protocol))
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
