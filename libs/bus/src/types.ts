import type { Kind, Resource, ResourceOf } from '@portico/config';

/** Immutable view of every resource; a new one per applied (coalesced) change. */
export interface ConfigState {
  /** Increases on every applied change. */
  readonly revision: number;
  get<K extends Kind>(kind: K): ReadonlyMap<string, ResourceOf<K>>;
}

export interface PutResult {
  changed: boolean;
  /** The resource as stored, with metadata.creationTimestamp and metadata.resourceVersion filled. */
  resource: Resource;
}

export type StateListener = (state: ConfigState) => void;

export interface ConfigBus {
  put(resource: Resource): Promise<PutResult>;
  /** False if absent. */
  delete(kind: Kind, name: string): Promise<boolean>;
  get<K extends Kind>(kind: K, name: string): Promise<ResourceOf<K> | undefined>;
  /** Sorted by name. */
  list<K extends Kind>(kind: K): Promise<ResourceOf<K>[]>;
  /**
   * Loads every kind, calls listener with the full state, then again after every change (coalesced: a burst of
   * changes in the same tick gives one call). Resolves once the first state was delivered.
   */
  watch(listener: StateListener): Promise<{ stop(): void }>;
  close(): Promise<void>;
}
