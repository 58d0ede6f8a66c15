import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import { type HistogramSeries, PlainHistogram } from './route-histogram.ts';

export { Registry };

/** A registry with Node process metrics (`portico_process_cpu_seconds_total`, heap, event loop lag...). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portico_' });
  return registry;
}

/** 0.5 ms .. 30 s, roughly x2.5 per step: fine where proxies live (ms), coarse at the timeout end. */
export const REQUEST_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** One route/backend pair with its series resolved up front: the proxy calls observe once per request. */
export interface RouteObserver {
  /** Counts the request under its status class and records its duration in seconds. */
  observe(statusCode: number, seconds: number): void;
}

class BoundRouteObserver implements RouteObserver {
  readonly route: string;
  readonly backend: string;
  /** Requests per class, index 0..4 = 1xx..5xx; flushed into the prom-client counter at scrape time. */
  readonly counts = new Float64Array(5);
  readonly flushed = new Float64Array(5);
  #duration: HistogramSeries | undefined;
  readonly #histogram: PlainHistogram;

  constructor(route: string, backend: string, histogram: PlainHistogram) {
    this.route = route;
    this.backend = backend;
    this.#histogram = histogram;
  }

  observe(statusCode: number, seconds: number): void {
    const i = ((statusCode / 100) | 0) - 1;
    // Anything outside 100..599 is a proxy-made failure: count it as 5xx.
    this.counts[i >= 0 && i < 5 ? i : 4]!++;
    // The series is made on the first request, so routes that never saw traffic add nothing to a scrape.
    this.#duration ??= this.#histogram.series(this.route);
    this.#duration.observe(seconds);
  }
}

/** What the proxy knows of a discovered service (an EndpointSet resource's spec). */
export interface DiscoveredSetView {
  spec: {
    registry: string;
    service: string;
    stale: boolean;
    endpoints: ReadonlyArray<{ healthy: boolean; weight: number }>;
  };
}

/** Every metric the data plane reports. Construct once per registry. */
export class ProxyMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'backend' | 'code_class'>;
  readonly requestDuration: PlainHistogram;
  readonly upstreamConnectErrors: Counter<'backend'>;
  readonly upstreamEjections: Counter<'backend'>;
  readonly configRevision: Gauge;
  readonly configReloads: Counter;
  readonly configRejected: Counter<'kind'>;
  readonly upstreamEndpoints: Gauge<'backend' | 'state'>;
  readonly upstreamPanic: Gauge<'backend'>;
  readonly discoveredEndpoints: Gauge<'registry' | 'service' | 'state'>;
  readonly discoveredStale: Gauge<'registry' | 'service'>;
  readonly registryUp: Gauge<'registry' | 'type'>;
  readonly registrySkipped: Counter<'registry'>;
  readonly edgeRejections: Counter<'reason'>;
  #discovered: Iterable<DiscoveredSetView> = [];
  readonly #observers = new Map<string, BoundRouteObserver>();

  constructor(registry: Registry) {
    if (!(registry instanceof Registry)) throw new TypeError('registry must be a prom-client Registry');
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: 'portico_http_requests_total',
      help: 'Requests answered by the proxy, by route, backend and status class.',
      labelNames: ['route', 'backend', 'code_class'],
      registers,
      // The hot path counts into plain arrays; move the deltas into the counter when scraped.
      collect: () => this.#flushRequestCounts(),
    });
    this.requestDuration = new PlainHistogram({
      name: 'portico_http_request_duration_seconds',
      help: 'Time from the request head received to the response finished, by route.',
      labelNames: ['route'],
      buckets: REQUEST_DURATION_BUCKETS,
    });
    // Not a prom-client class, but it has the shape the registry renders (name, help, type, get, reset).
    registry.registerMetric(this.requestDuration as unknown as Metric);
    this.upstreamConnectErrors = new Counter({
      name: 'portico_upstream_connect_errors_total',
      help: 'Failed connection attempts to a backend endpoint.',
      labelNames: ['backend'],
      registers,
    });
    this.upstreamEjections = new Counter({
      name: 'portico_upstream_ejections_total',
      help: 'Endpoints ejected by outlier detection (consecutive 5xx or connect failures).',
      labelNames: ['backend'],
      registers,
    });
    // Gauges below say how to combine proxy workers' values (prom-client's cluster aggregation sums by default):
    // every worker serves the same config and sees the same endpoint sets, so `max` reads as one proxy's view.
    this.configRevision = new Gauge({
      name: 'portico_config_revision',
      help: 'Revision of the config snapshot being served.',
      registers,
      aggregator: 'max',
    });
    this.configReloads = new Counter({
      name: 'portico_config_reloads_total',
      help: 'Config snapshots applied.',
      registers,
    });
    this.configRejected = new Counter({
      name: 'portico_config_rejected_total',
      help: 'Resources rejected when read back (last good version kept), by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.upstreamEndpoints = new Gauge({
      name: 'portico_upstream_endpoints',
      help: 'Endpoints of a backend by state: healthy, unhealthy (failing active health checks), ejected (by outlier detection).',
      labelNames: ['backend', 'state'],
      registers,
      // Each worker checks health on its own: the average keeps the states summing to the endpoint count.
      aggregator: 'average',
    });
    this.upstreamPanic = new Gauge({
      name: 'portico_upstream_panic',
      help: '1 while every endpoint of a backend is unhealthy or ejected, so all of them take traffic (panic mode).',
      labelNames: ['backend'],
      registers,
      aggregator: 'max',
    });
    this.discoveredEndpoints = new Gauge({
      name: 'portico_discovery_endpoints',
      help: 'Endpoints of a discovered service as the proxy sees them, by state (healthy = routable).',
      labelNames: ['registry', 'service', 'state'],
      registers,
      collect: () => this.#collectDiscovered(),
      aggregator: 'max',
    });
    this.discoveredStale = new Gauge({
      name: 'portico_discovery_stale',
      help: '1 while a discovered service shows last known endpoints because its registry is unreachable.',
      labelNames: ['registry', 'service'],
      registers,
      aggregator: 'max',
    });
    this.registryUp = new Gauge({
      name: 'portico_discovery_registry_up',
      help: 'Whether the discovery syncer reaches a registry (1) or serves its last known endpoints (0).',
      labelNames: ['registry', 'type'],
      registers,
      aggregator: 'max',
    });
    this.registrySkipped = new Counter({
      name: 'portico_discovery_skipped_total',
      help: 'Malformed registrations left out by the discovery syncer.',
      labelNames: ['registry'],
      registers,
    });
    this.edgeRejections = new Counter({
      name: 'portico_edge_rejections_total',
      help: 'Connections, streams and requests the proxy listeners refused or cut (parser, timeouts, HTTP/2 and TLS limits), by reason.',
      labelNames: ['reason'],
      registers,
    });
  }

  /** The endpoint sets the proxy currently sees; counted when /metrics is scraped, not on every change. */
  setDiscovered(sets: Iterable<DiscoveredSetView>): void {
    this.#discovered = sets;
  }

  #collectDiscovered(): void {
    this.discoveredEndpoints.reset();
    this.discoveredStale.reset();
    for (const { spec } of this.#discovered) {
      let healthy = 0;
      for (const e of spec.endpoints) if (e.healthy && e.weight > 0) healthy++;
      const labels = { registry: spec.registry, service: spec.service };
      this.discoveredEndpoints.set({ ...labels, state: 'healthy' }, healthy);
      this.discoveredEndpoints.set({ ...labels, state: 'unhealthy' }, spec.endpoints.length - healthy);
      this.discoveredStale.set(labels, spec.stale ? 1 : 0);
    }
  }

  /** Cached: call per request if convenient, or keep the result in the compiled route. */
  forRoute(route: string, backend: string): RouteObserver {
    const key = `${route}\u0000${backend}`;
    let observer = this.#observers.get(key);
    if (observer === undefined) {
      observer = new BoundRouteObserver(route, backend, this.requestDuration);
      this.#observers.set(key, observer);
    }
    return observer;
  }

  #flushRequestCounts(): void {
    for (const o of this.#observers.values()) {
      for (let i = 0; i < 5; i++) {
        const delta = o.counts[i]! - o.flushed[i]!;
        if (delta > 0) {
          this.requests.inc({ route: o.route, backend: o.backend, code_class: CODE_CLASSES[i]! }, delta);
          o.flushed[i] = o.counts[i]!;
        }
      }
    }
  }
}
