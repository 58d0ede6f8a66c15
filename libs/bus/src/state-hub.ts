/**
 * Holds the live resources, turns changes into immutable ConfigState snapshots and tells listeners.
 * Changes made in the same tick are flushed together (setImmediate), so a burst gives one listener call.
 */
import { KINDS, type Kind, type Resource, type ResourceOf } from '@portico/config';
import { busChannels } from './channels.ts';
import type { ConfigState, StateListener } from './types.ts';

export type KindMaps = Map<Kind, Map<string, Resource>>;

/** One empty map per kind. */
export function emptyKindMaps(): KindMaps {
  return new Map(KINDS.map((k) => [k, new Map<string, Resource>()]));
}

function snapshot(revision: number, maps: ReadonlyMap<Kind, ReadonlyMap<string, Resource>>): ConfigState {
  return Object.freeze({
    revision,
    get<K extends Kind>(kind: K): ReadonlyMap<string, ResourceOf<K>> {
      return maps.get(kind) as ReadonlyMap<string, ResourceOf<K>>;
    },
  });
}

/** Same keys with the same resourceVersion (or the same object). */
function sameEntries(a: ReadonlyMap<string, Resource>, b: ReadonlyMap<string, Resource>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, ra] of a) {
    const rb = b.get(key);
    if (rb === undefined) return false;
    if (ra !== rb && ra.metadata.resourceVersion !== rb.metadata.resourceVersion) return false;
  }
  return true;
}

export class StateHub {
  #working: KindMaps = emptyKindMaps();
  #published: Map<Kind, ReadonlyMap<string, Resource>>;
  #state: ConfigState;
  #pendingChanges = 0;
  #dirty = new Set<Kind>();
  #scheduled: NodeJS.Immediate | undefined;
  #listeners = new Set<StateListener>();

  constructor() {
    this.#published = new Map(KINDS.map((k) => [k, new Map<string, Resource>()]));
    this.#state = snapshot(0, this.#published);
  }

  get state(): ConfigState {
    return this.#state;
  }

  /** The live value (before the next flush). */
  peek(kind: Kind, key: string): Resource | undefined {
    return this.#working.get(kind)!.get(key);
  }

  /** The live values of a kind (before the next flush). */
  values(kind: Kind): Resource[] {
    return [...this.#working.get(kind)!.values()];
  }

  set(kind: Kind, key: string, resource: Resource): void {
    const map = this.#working.get(kind)!;
    if (map.get(key) === resource) return;
    map.set(key, resource);
    this.#mark(kind, 1);
  }

  remove(kind: Kind, key: string): void {
    if (this.#working.get(kind)!.delete(key)) this.#mark(kind, 1);
  }

  /** Swaps in a whole new set (a resync); only kinds that differ count as changed. Returns the number changed. */
  replaceAll(maps: KindMaps): number {
    let changed = 0;
    for (const kind of KINDS) {
      const next = maps.get(kind) ?? new Map<string, Resource>();
      if (!sameEntries(this.#working.get(kind)!, next)) {
        this.#working.set(kind, new Map(next));
        this.#mark(kind, 1);
        changed++;
      }
    }
    return changed;
  }

  subscribe(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Applies pending changes now and notifies listeners; no-op when nothing changed. */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#dirty.size === 0) return;
    const published = new Map(this.#published);
    for (const kind of this.#dirty) published.set(kind, new Map(this.#working.get(kind)!));
    this.#dirty.clear();
    this.#published = published;
    this.#state = snapshot(this.#state.revision + this.#pendingChanges, published);
    this.#pendingChanges = 0;
    const state = this.#state;
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (error) {
        busChannels.error.publish({ where: 'listener', error });
      }
    }
  }

  dispose(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#listeners.clear();
  }

  #mark(kind: Kind, changes: number): void {
    this.#dirty.add(kind);
    this.#pendingChanges += changes;
    this.#scheduled ??= setImmediate(() => this.flush());
  }
}
