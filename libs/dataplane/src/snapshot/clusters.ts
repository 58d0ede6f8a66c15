/**
 * Upstream clusters outlive snapshots: one UpstreamCluster per (Service, port), kept while some snapshot uses it,
 * so pools and health state survive config changes. A backend kind may attach its own long-lived state to a
 * cluster (a transcoder's descriptors and channels); it is closed with the cluster.
 */
import type { Service } from '@portico/config';
import { UpstreamCluster } from '@portico/upstream';

const CLOSE_GRACE_MS = 5_000;

/** State a backend kind keeps beside a cluster, for as long as the cluster lives (closed with it, if it holds any). */
export interface Attachment {
  close?(): void | Promise<void>;
}

interface Entry {
  cluster: UpstreamCluster;
  service: Service;
  attachments: Map<string, object>;
}

/** Keeps one UpstreamCluster per (service, port) across snapshots. */
export class ClusterSet {
  readonly #clusters = new Map<string, Entry>();
  readonly #byCluster = new WeakMap<UpstreamCluster, Entry>();

  get(service: Service, port: number | undefined): UpstreamCluster {
    const key = port === undefined ? service.metadata.name : `${service.metadata.name}:${port}`;
    const effective = port === undefined ? service : withPort(service, port);
    const entry = this.#clusters.get(key);
    if (entry === undefined) {
      const cluster = new UpstreamCluster(effective);
      const created = { cluster, service: effective, attachments: new Map() };
      this.#clusters.set(key, created);
      this.#byCluster.set(cluster, created);
      return cluster;
    }
    if (!sameSpec(entry.service, effective)) {
      entry.cluster.update(effective);
      entry.service = effective;
    }
    return entry.cluster;
  }

  /** The attachment of `cluster` under `key`, made by `make` the first time. */
  attachment<T extends object>(cluster: UpstreamCluster, key: string, make: () => T): T {
    const attachments = this.#byCluster.get(cluster)!.attachments;
    let attached = attachments.get(key) as T | undefined;
    if (attached === undefined) {
      attached = make();
      attachments.set(key, attached);
    }
    return attached;
  }

  /** Closes clusters no snapshot uses any more; their in-flight requests finish first. */
  retain(used: ReadonlySet<UpstreamCluster>): void {
    for (const [key, entry] of this.#clusters) {
      if (used.has(entry.cluster)) continue;
      this.#clusters.delete(key);
      // Requests that took the previous snapshot may still be about to dispatch (or retry) on it.
      setTimeout(() => void closeEntry(entry), CLOSE_GRACE_MS).unref();
    }
  }

  async close(): Promise<void> {
    const all = [...this.#clusters.values()].map(closeEntry);
    this.#clusters.clear();
    await Promise.allSettled(all);
  }
}

async function closeEntry(entry: Entry): Promise<void> {
  await Promise.allSettled([
    entry.cluster.close(),
    ...[...entry.attachments.values()].map((a) => (a as Attachment).close?.()),
  ]);
}

function withPort(service: Service, port: number): Service {
  return { ...service, spec: { ...service.spec, endpoints: service.spec.endpoints.map((e) => ({ ...e, port })) } };
}

function sameSpec(a: Service, b: Service): boolean {
  return JSON.stringify(a.spec) === JSON.stringify(b.spec);
}
