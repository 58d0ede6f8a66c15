/**
 * The discovery syncer: runs one source per Registry resource and keeps the EndpointSet bucket equal to what the
 * registries say. Sources report; the syncer decides what to write:
 * - a service's endpoints are written only when they changed (sorted, so order never counts as a change);
 * - an outage marks the registry's sets stale and keeps their endpoints (never an empty table);
 * - a complete listing clears stale marks and removes the services that are gone;
 * - removing a Registry removes its sets; changing it restarts its source and keeps the sets until the new listing.
 * Bus writes go through one queue holding only the latest wanted state per set, retried until the bus takes them.
 */

import type { ConfigBus, ConfigState } from '@portico/bus';
import {
  API_VERSION,
  type DiscoveredEndpoint,
  type EndpointSet,
  endpointSetName,
  type Registry,
  type RegistryType,
} from '@portico/config';
import { discoveryChannels } from './channels.ts';
import type { DiscoveredService, DiscoverySource, SourceFactory, SourceSink } from './source.ts';

export type SourceFactories = { [T in RegistryType]?: SourceFactory<T> };

export interface DiscoverySyncerOptions {
  bus: ConfigBus;
  factories: SourceFactories;
  /** Bus writes in flight at once (a full resync of thousands of services is bounded by this). */
  concurrency?: number;
  /** Wait before retrying a write the bus refused. */
  retryDelayMs?: number;
}

interface RegistryRun {
  registry: Registry;
  specJson: string;
  source: DiscoverySource | undefined;
  /** Current sets of this registry by service name, as last asked to be written. */
  sets: Map<string, EndpointSet>;
  stale: boolean;
  stopped: boolean;
}

export class DiscoverySyncer {
  readonly #bus: ConfigBus;
  readonly #factories: SourceFactories;
  readonly #runs = new Map<string, RegistryRun>();
  readonly #writer: SetWriter;
  #watch: { stop(): void } | undefined;
  /** Sets found in the bus at start, per registry: adopted so a restart of the syncer loses nothing. */
  #existing = new Map<string, Map<string, EndpointSet>>();
  #chain: Promise<void> = Promise.resolve();

  constructor(options: DiscoverySyncerOptions) {
    this.#bus = options.bus;
    this.#factories = options.factories;
    this.#writer = new SetWriter(options.bus, options.concurrency ?? 64, options.retryDelayMs ?? 1000);
  }

  async start(): Promise<void> {
    this.#watch = await this.#bus.watch((state) => {
      // Registry changes are applied one at a time, in order.
      this.#chain = this.#chain
        .then(() => this.#reconcile(state))
        .catch((error: unknown) => {
          discoveryChannels.error.publish({ registry: '', error });
        });
    });
    await this.#chain;
  }

  /** Resolves when every write asked for so far has reached the bus. */
  flushed(): Promise<void> {
    return this.#chain.then(() => this.#writer.idle());
  }

  async stop(): Promise<void> {
    this.#watch?.stop();
    await this.#chain;
    await Promise.allSettled([...this.#runs.values()].map((run) => this.#stopRun(run)));
    this.#runs.clear();
    await this.#writer.close();
  }

  async #reconcile(state: ConfigState): Promise<void> {
    if (this.#existing.size === 0 && this.#runs.size === 0) this.#adopt(state);
    const registries = state.get('Registry');
    for (const [name, run] of this.#runs) {
      const next = registries.get(name);
      if (next === undefined) {
        this.#runs.delete(name);
        await this.#stopRun(run);
        for (const set of run.sets.values()) this.#writer.remove(set.metadata.name);
      } else if (JSON.stringify(next.spec) !== run.specJson) {
        await this.#stopRun(run);
        this.#runs.delete(name);
        this.#startRun(next, run.sets);
      }
    }
    for (const [name, registry] of registries) {
      if (!this.#runs.has(name)) this.#startRun(registry, this.#existing.get(name) ?? new Map());
      this.#existing.delete(name);
    }
    // Sets of registries that no longer exist (deleted while no syncer ran).
    for (const sets of this.#existing.values()) for (const set of sets.values()) this.#writer.remove(set.metadata.name);
    this.#existing.clear();
  }

  #adopt(state: ConfigState): void {
    for (const set of state.get('EndpointSet').values()) {
      let sets = this.#existing.get(set.spec.registry);
      if (sets === undefined) {
        sets = new Map();
        this.#existing.set(set.spec.registry, sets);
      }
      sets.set(set.spec.service, set);
    }
  }

  #startRun(registry: Registry, sets: Map<string, EndpointSet>): void {
    const run: RegistryRun = {
      registry,
      specJson: JSON.stringify(registry.spec),
      source: undefined,
      sets,
      stale: false,
      stopped: false,
    };
    this.#runs.set(registry.metadata.name, run);
    const factory = this.#factories[registry.spec.type] as SourceFactory<RegistryType> | undefined;
    const name = registry.metadata.name;
    if (factory === undefined) {
      discoveryChannels.error.publish({ registry: name, error: new Error(`no source for type ${registry.spec.type}`) });
      return;
    }
    try {
      run.source = factory({ name, spec: registry.spec as never, sink: this.#sinkFor(run) });
    } catch (error) {
      discoveryChannels.error.publish({ registry: name, error });
      return;
    }
    run.source.start().catch((error: unknown) => discoveryChannels.error.publish({ registry: name, error }));
  }

  async #stopRun(run: RegistryRun): Promise<void> {
    run.stopped = true;
    try {
      await run.source?.stop();
    } catch (error) {
      discoveryChannels.error.publish({ registry: run.registry.metadata.name, error });
    }
  }

  #sinkFor(run: RegistryRun): SourceSink {
    const registry = run.registry.metadata.name;
    const type = run.registry.spec.type;
    const put = (service: DiscoveredService, stale: boolean) => {
      const previous = run.sets.get(service.name);
      const endpoints = [...service.endpoints].sort(byAddress);
      if (
        previous !== undefined &&
        previous.spec.stale === stale &&
        JSON.stringify(previous.spec.endpoints) === JSON.stringify(endpoints)
      )
        return;
      const set: EndpointSet = {
        apiVersion: API_VERSION,
        kind: 'EndpointSet',
        metadata: { name: endpointSetName(registry, service.name), labels: { 'portico.dev/registry': registry } },
        spec: {
          registry,
          service: service.name,
          stale,
          revision: service.revision ?? contentRevision(endpoints),
          endpoints,
        },
      };
      run.sets.set(service.name, set);
      this.#writer.put(set);
    };
    const remove = (name: string) => {
      const set = run.sets.get(name);
      if (set === undefined) return;
      run.sets.delete(name);
      this.#writer.remove(set.metadata.name);
    };
    return {
      snapshot: (services) => {
        if (run.stopped) return;
        const seen = new Set<string>();
        for (const service of services) {
          seen.add(service.name);
          put(service, false);
        }
        for (const name of [...run.sets.keys()]) if (!seen.has(name)) remove(name);
        run.stale = false;
        discoveryChannels.synced.publish({ registry, type, services: services.length });
      },
      update: (service) => {
        if (!run.stopped) put(service, false);
      },
      remove: (name) => {
        if (!run.stopped) remove(name);
      },
      down: (error) => {
        if (run.stopped || run.stale) return;
        run.stale = true;
        discoveryChannels.down.publish({ registry, type, error, services: run.sets.size });
        for (const set of [...run.sets.values()])
          put({ name: set.spec.service, endpoints: set.spec.endpoints, revision: set.spec.revision }, true);
      },
      skipped: (service, reason, raw) => {
        if (!run.stopped) discoveryChannels.skipped.publish({ registry, type, service, reason, raw });
      },
    };
  }
}

function byAddress(a: DiscoveredEndpoint, b: DiscoveredEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** A revision for sources without one: changes exactly when the endpoints do. */
function contentRevision(endpoints: readonly DiscoveredEndpoint[]): string {
  const text = JSON.stringify(endpoints);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Writes EndpointSets to the bus: the latest wanted value per name (a put or a removal), `concurrency` at a time,
 * a failed write retried after a delay. Intermediate values that were overtaken are never written.
 */
class SetWriter {
  readonly #bus: ConfigBus;
  readonly #concurrency: number;
  readonly #retryDelayMs: number;
  readonly #wanted = new Map<string, EndpointSet | null>();
  #inFlight = 0;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(bus: ConfigBus, concurrency: number, retryDelayMs: number) {
    this.#bus = bus;
    this.#concurrency = concurrency;
    this.#retryDelayMs = retryDelayMs;
  }

  put(set: EndpointSet): void {
    this.#wanted.set(set.metadata.name, set);
    this.#pump();
  }

  remove(name: string): void {
    this.#wanted.set(name, null);
    this.#pump();
  }

  idle(): Promise<void> {
    if (this.#wanted.size === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    while (this.#inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  }

  #pump(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    while (this.#inFlight < this.#concurrency && this.#wanted.size > 0) {
      const [name, value] = this.#wanted.entries().next().value as [string, EndpointSet | null];
      this.#wanted.delete(name);
      this.#inFlight++;
      const write = value === null ? this.#bus.delete('EndpointSet', name) : this.#bus.put(value);
      write.then(
        () => this.#done(),
        (error: unknown) => {
          // Keep the newer wanted value if one arrived meanwhile; else try this one again.
          if (!this.#wanted.has(name)) this.#wanted.set(name, value);
          discoveryChannels.error.publish({ registry: value?.spec.registry ?? '', error });
          this.#retryTimer ??= setTimeout(() => {
            this.#retryTimer = undefined;
            this.#pump();
          }, this.#retryDelayMs);
          this.#retryTimer.unref();
          this.#done();
        },
      );
    }
  }

  #done(): void {
    this.#inFlight--;
    this.#pump();
    if (this.#wanted.size === 0 && this.#inFlight === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
