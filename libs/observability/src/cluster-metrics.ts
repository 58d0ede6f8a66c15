/**
 * Metrics across proxy worker processes: each worker answers the primary's scrape over IPC with its own
 * registry, and the primary's /metrics aggregates them (prom-client's cluster aggregation) and adds what only the
 * primary reports (the discovery syncer's events).
 */
import { AggregatorRegistry, type Registry } from 'prom-client';

/** In a worker: answer the primary's scrapes with this registry. */
export function shareWorkerMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client installs the worker's IPC listener when an AggregatorRegistry is constructed.
  new AggregatorRegistry();
}

/**
 * In the primary: a registry whose metrics() is the aggregate over every live worker, plus the families of the
 * primary's own registry that the workers report no sample of.
 */
export class ClusterMetricsRegistry extends AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> {
  readonly #own: Registry | undefined;

  constructor(own?: Registry) {
    super();
    this.#own = own;
  }

  override async metrics(): Promise<string> {
    const workers = await this.clusterMetrics();
    if (this.#own === undefined) return workers;
    return mergeExpositions(workers, await this.#own.metrics());
  }
}

interface Family {
  name: string;
  lines: string[];
  samples: number;
}

/** Prometheus text split into metric families (the HELP/TYPE comments and the samples that follow them). */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (comment !== null) {
      const name = comment[1]!;
      current = out.get(name);
      if (current === undefined) {
        current = { name, lines: [], samples: 0 };
        out.set(name, current);
      }
      current.lines.push(line);
    } else if (current !== undefined) {
      current.lines.push(line);
      current.samples++;
    }
  }
  return out;
}

/** The workers' families, each empty one replaced by the primary's, then the families only the primary has. */
export function mergeExpositions(workers: string, own: string): string {
  const mine = families(own);
  const out: string[] = [];
  for (const family of families(workers).values()) {
    const primary = mine.get(family.name);
    mine.delete(family.name);
    out.push(...(family.samples === 0 && primary !== undefined ? primary : family).lines);
  }
  for (const family of mine.values()) out.push(...family.lines);
  return `${out.join('\n')}\n`;
}
