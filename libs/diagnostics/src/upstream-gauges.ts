/**
 * `portico_upstream_endpoints{backend,state}` and `portico_upstream_panic{backend}` from the clusters' own events.
 * One Service can have several live clusters (one per port a route asks for, and a replaced one closing after its
 * grace time), so counts are kept per cluster instance and a backend's series are their sum; they go when the
 * backend's last cluster closes.
 */
import type { ProxyMetrics } from '@portico/observability';
import type { EndpointCounts, EndpointsEvent, PanicEvent } from '@portico/upstream';

const STATES = ['healthy', 'unhealthy', 'ejected'] as const satisfies readonly (keyof EndpointCounts)[];

interface BackendState {
  /** Endpoint counts per live cluster id. */
  clusters: Map<number, EndpointCounts>;
  /** Ids of the clusters in panic. */
  panicking: Set<number>;
}

export class UpstreamGauges {
  readonly #metrics: ProxyMetrics;
  readonly #backends = new Map<string, BackendState>();

  constructor(metrics: ProxyMetrics) {
    this.#metrics = metrics;
  }

  endpoints(event: EndpointsEvent): void {
    const state = this.#state(event.backend);
    if (event.closed) {
      state.clusters.delete(event.cluster);
      state.panicking.delete(event.cluster);
      if (state.clusters.size === 0) return this.#forget(event.backend);
    } else state.clusters.set(event.cluster, event.endpoints);
    this.#render(event.backend, state);
  }

  panic(event: PanicEvent): void {
    const state = this.#state(event.backend);
    if (event.panic) state.panicking.add(event.cluster);
    else state.panicking.delete(event.cluster);
    this.#render(event.backend, state);
  }

  #state(backend: string): BackendState {
    let state = this.#backends.get(backend);
    if (state === undefined) {
      state = { clusters: new Map(), panicking: new Set() };
      this.#backends.set(backend, state);
    }
    return state;
  }

  #render(backend: string, state: BackendState): void {
    for (const s of STATES) {
      let sum = 0;
      for (const counts of state.clusters.values()) sum += counts[s];
      this.#metrics.upstreamEndpoints.set({ backend, state: s }, sum);
    }
    this.#metrics.upstreamPanic.set({ backend }, state.panicking.size > 0 ? 1 : 0);
  }

  #forget(backend: string): void {
    this.#backends.delete(backend);
    for (const s of STATES) this.#metrics.upstreamEndpoints.remove({ backend, state: s });
    this.#metrics.upstreamPanic.remove({ backend });
  }
}
