/**
 * Metrics across proxy worker processes: each worker answers the primary's scrape over IPC with its own
 * registry, and the primary's /metrics sums them (prom-client's cluster aggregation).
 */
import { AggregatorRegistry, type Registry } from 'prom-client';

/** In a worker: answer the primary's scrapes with this registry. */
export function shareWorkerMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client installs the worker's IPC listener when an AggregatorRegistry is constructed.
  new AggregatorRegistry();
}

/** In the primary: a registry whose metrics() is the sum over every live worker. */
export class ClusterMetricsRegistry extends AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> {
  override metrics(): Promise<string> {
    return this.clusterMetrics();
  }
}
