/**
 * Feeds the StateHub from NATS: loads every bucket, keeps watching them, and after a gap (a reconnect, a watch
 * that ended) loads everything again and swaps it in. While NATS is away the hub keeps the last known state.
 */
import type { KvEntry } from '@nats-io/kv';
import { KINDS, type Kind } from '@portico/config';
import { busChannels } from '../channels.ts';
import { BusUnavailableError } from '../errors.ts';
import { emptyKindMaps, type StateHub } from '../state-hub.ts';
import { WatchSet, watchBucket } from './bucket-watch.ts';
import type { Buckets } from './buckets.ts';
import type { LastGood } from './last-good.ts';
import type { NatsLink } from './link.ts';

/** One load of every bucket and its watchers; a resync replaces it with a new one. */
class Generation extends WatchSet {
  /** Set once the load completed: from then on entries go straight to the hub instead of `maps`. */
  live = false;
  readonly maps = emptyKindMaps();
}

function isEmpty(maps: { get(kind: Kind): ReadonlyMap<string, unknown> | undefined }): boolean {
  return KINDS.every((k) => (maps.get(k)?.size ?? 0) === 0);
}

export interface LoaderDeps {
  buckets: Buckets;
  lastGood: LastGood;
  hub: StateHub;
  link: NatsLink;
  /** How long loading one bucket may take. */
  loadTimeoutMs: number;
}

export class Loader {
  readonly #d: LoaderDeps;
  #current: Generation | undefined;
  #started: Promise<void> | undefined;
  /** Bumped to cancel a resync in flight (a disconnect, close, or a newer resync). */
  #resyncToken = 0;

  constructor(deps: LoaderDeps) {
    this.#d = deps;
  }

  /** Loads every bucket into the hub and keeps watching them; the first call does it, later calls share it. */
  start(): Promise<void> {
    // With no state yet there is nothing last-known to serve, so the first load needs NATS.
    if (this.#started === undefined && !this.#d.link.connected) {
      return Promise.reject(new BusUnavailableError('cannot load config: NATS is not connected'));
    }
    this.#started ??= this.#load().catch((err) => {
      this.#started = undefined;
      throw err;
    });
    return this.#started;
  }

  /** Stops the watchers and any resync in flight; the hub keeps its state as last known. */
  stop(): void {
    this.#resyncToken++;
    this.#current?.stop();
    this.#current = undefined;
  }

  /**
   * Loads everything again in the background, retrying with backoff while connected, then publishes
   * busChannels.resync. Does nothing before start() or after close.
   */
  resync(): void {
    if (this.#d.link.closed || this.#started === undefined) return;
    const token = ++this.#resyncToken;
    void (async () => {
      await this.#started?.catch(() => {});
      const t0 = performance.now();
      let wait = 100;
      while (!this.#d.link.closed && this.#d.link.connected && token === this.#resyncToken) {
        try {
          await this.#load();
          if (token !== this.#resyncToken) return;
          const { hub } = this.#d;
          let resources = 0;
          for (const kind of KINDS) resources += hub.state.get(kind).size;
          busChannels.resync.publish({
            revision: hub.state.revision,
            durationMs: Math.round(performance.now() - t0),
            resources,
          });
          return;
        } catch (error) {
          busChannels.error.publish({ where: 'resync', error });
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, 2000);
        }
      }
    })();
  }

  /** Loads every bucket into a new generation and makes it the live state. */
  async #load(): Promise<void> {
    const { buckets, hub, link } = this.#d;
    this.#current?.stop();
    const gen = new Generation();
    this.#current = gen;
    try {
      await buckets.ensure();
      await Promise.all(KINDS.map((kind) => this.#watch(gen, kind)));
      if (gen.stopped) throw new BusUnavailableError('load superseded');
    } catch (err) {
      gen.stop();
      if (this.#current === gen) this.#current = undefined;
      throw link.toBusError(err, 'cannot load config');
    }
    gen.live = true;
    if (isEmpty(gen.maps) && !isEmpty(hub.state)) {
      // A server that lost its store (not one where the config was deleted key by key while we were away):
      // an empty table would take every route down, so keep serving the last known config and say so loudly.
      // Writes made from now on still apply on top of it.
      busChannels.error.publish({
        where: 'resync',
        error: new Error('NATS came back with no config at all; keeping the last known config (apply it again)'),
      });
      return;
    }
    hub.replaceAll(gen.maps);
    hub.flush();
  }

  #watch(gen: Generation, kind: Kind): Promise<void> {
    const { buckets, link, loadTimeoutMs } = this.#d;
    const bucket = buckets.name(kind);
    return watchBucket({
      kv: buckets.get(kind),
      bucket,
      set: gen,
      loadTimeoutMs,
      onEntry: (e) => this.#apply(gen, kind, e),
      onEnded: () => {
        if (link.closed || gen !== this.#current) return;
        busChannels.error.publish({ where: 'watch', error: new Error(`watch of ${bucket} ended`) });
        this.resync();
      },
    });
  }

  #apply(gen: Generation, kind: Kind, e: KvEntry): void {
    const v = this.#d.lastGood.accept(kind, e);
    if (v === 'keep') return;
    const { hub } = this.#d;
    if (gen.live) {
      if (v === 'remove') hub.remove(kind, e.key);
      else hub.set(kind, e.key, v);
    } else {
      if (v === 'remove') gen.maps.get(kind)!.delete(e.key);
      else gen.maps.get(kind)!.set(e.key, v);
    }
  }
}
