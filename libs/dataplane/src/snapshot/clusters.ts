/**
 * Upstream clusters outlive snapshots: one UpstreamCluster per (Service, port), kept while some snapshot uses it,
 * so pools and health state survive config changes.
 */
import type { Service } from '@portico/config';
import { UpstreamCluster } from '@portico/upstream';

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
