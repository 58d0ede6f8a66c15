/**
 * The real bus: one NATS JetStream KV bucket per kind. Values are validated on write and on read; watchers keep
 * the last known state while NATS is away and resync (re-read, re-watch) when it comes back.
 * NatsBus owns the connection and its lifecycle; the Loader feeds the state, the Writer does put and delete.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kind, Resource, ResourceOf } from '@portico/config';
import { thaw } from '../codec.ts';
import { resourceKey } from '../keys.ts';
import { StateHub } from '../state-hub.ts';
import type { ConfigBus, PutResult, StateListener } from '../types.ts';
import { Buckets } from './buckets.ts';
import { followConnection, openConnection } from './connection.ts';
import { toBusError } from './failures.ts';
import { LastGood } from './last-good.ts';
import { NatsLink } from './link.ts';
import { Loader } from './loader.ts';
import { type NatsBusOptions, type ResolvedNatsBusOptions, resolveOptions } from './options.ts';
import { readBucket } from './read-bucket.ts';
import { Writer } from './writer.ts';

export class NatsBus implements ConfigBus {
  /** Connects and opens (creating if missing) every bucket; fails with BusUnavailableError when NATS is away. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const o = resolveOptions(options);
    const nc = await openConnection(o);
    const buckets = new Buckets(jetstream(nc, { timeout: o.requestTimeout }), o.prefix);
    try {
      await buckets.ensure();
    } catch (err) {
      await nc.close().catch(() => {});
      throw toBusError(err, 'cannot open the config buckets', true);
    }
    return new NatsBus(nc, buckets, o);
  }

  readonly #nc: NatsConnection;
  readonly #buckets: Buckets;
  readonly #link = new NatsLink();
  readonly #hub = new StateHub();
  readonly #lastGood = new LastGood();
  readonly #loader: Loader;
  readonly #writer: Writer;
  /** How long loading one bucket may take: a few requests' worth. */
  readonly #loadTimeoutMs: number;

  private constructor(nc: NatsConnection, buckets: Buckets, o: ResolvedNatsBusOptions) {
    this.#nc = nc;
    this.#buckets = buckets;
    this.#loadTimeoutMs = o.requestTimeout * 5;
    this.#loader = new Loader({
      buckets,
      lastGood: this.#lastGood,
      hub: this.#hub,
      link: this.#link,
      loadTimeoutMs: this.#loadTimeoutMs,
    });
    this.#writer = new Writer(buckets, this.#lastGood, this.#link);
    followConnection(nc, {
      onDisconnect: () => {
        this.#link.connected = false;
        // Keep the state as last known; only the watchers go (they are rebuilt on reconnect).
        this.#loader.stop();
      },
      onReconnect: () => {
        this.#link.connected = true;
        this.#loader.resync();
      },
    });
  }

  put(resource: Resource): Promise<PutResult> {
    return this.#writer.put(resource);
  }

  delete(kind: Kind, name: string): Promise<boolean> {
    return this.#writer.delete(kind, name);
  }

  async get<K extends Kind>(kind: K, name: string): Promise<ResourceOf<K> | undefined> {
    const key = resourceKey(name);
    return this.#link.run(`read ${kind} "${key}"`, async () => {
      const found = this.#lastGood.read(kind, await this.#buckets.get(kind).get(key));
      return found === undefined ? undefined : (thaw(found) as ResourceOf<K>);
    });
  }

  async list<K extends Kind>(kind: K): Promise<ResourceOf<K>[]> {
    return this.#link.run(`list ${kind}`, async () => {
      const values = await readBucket(
        this.#buckets.get(kind),
        kind,
        this.#buckets.name(kind),
        this.#lastGood,
        this.#loadTimeoutMs,
      );
      const all = values.map((r) => thaw(r) as ResourceOf<K>);
      return all.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    });
  }

  async watch(listener: StateListener): Promise<{ stop(): void }> {
    this.#link.assertOpen();
    await this.#loader.start();
    this.#hub.flush();
    listener(this.#hub.state);
    return { stop: this.#hub.subscribe(listener) };
  }

  async close(): Promise<void> {
    if (this.#link.closed) return;
    this.#link.closed = true;
    this.#loader.stop();
    this.#hub.dispose();
    await this.#nc.close();
  }
}

/** Connects a NatsBus; see NatsBus.connect. */
export function createNatsBus(options: NatsBusOptions): Promise<ConfigBus> {
  return NatsBus.connect(options);
}
