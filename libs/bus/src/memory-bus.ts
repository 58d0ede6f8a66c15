/** The embedded bus: everything in process memory, same contract as the NATS bus. */
import type { Kind, Resource, ResourceOf } from '@portico/config';
import { deepFreeze, prepareWrite, sameContent, thaw, withMetadata } from './codec.ts';
import { BusClosedError } from './errors.ts';
import { resourceKey } from './keys.ts';
import { StateHub } from './state-hub.ts';
import type { ConfigBus, PutResult, StateListener } from './types.ts';

export function createMemoryBus(): ConfigBus {
  const hub = new StateHub();
  // The hub's working maps are the store: every value in them is frozen and carries its resourceVersion.
  let counter = 0;
  let closed = false;
  const open = () => {
    if (closed) throw new BusClosedError();
  };

  return {
    async put(input: Resource): Promise<PutResult> {
      open();
      const next = prepareWrite(input);
      const key = resourceKey(next.metadata.name);
      const current = hub.peek(next.kind, key);
      if (current !== undefined && sameContent(current, next)) return { changed: false, resource: thaw(current) };
      counter++;
      const stored = deepFreeze(
        withMetadata(next, {
          creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString(),
          resourceVersion: String(counter),
        }),
      );
      hub.set(next.kind, key, stored);
      return { changed: true, resource: thaw(stored) };
    },

    async delete(kind: Kind, name: string): Promise<boolean> {
      open();
      const key = resourceKey(name);
      if (hub.peek(kind, key) === undefined) return false;
      counter++;
      hub.remove(kind, key);
      return true;
    },

    async get<K extends Kind>(kind: K, name: string): Promise<ResourceOf<K> | undefined> {
      open();
      const found = hub.peek(kind, resourceKey(name));
      return found === undefined ? undefined : (thaw(found) as ResourceOf<K>);
    },

    async list<K extends Kind>(kind: K): Promise<ResourceOf<K>[]> {
      open();
      const all = hub.values(kind).map((r) => thaw(r) as ResourceOf<K>);
      return all.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    },

    async watch(listener: StateListener): Promise<{ stop(): void }> {
      open();
      // Writes already resolved must be in the first state, so publish pending changes now.
      hub.flush();
      listener(hub.state);
      const unsubscribe = hub.subscribe(listener);
      return { stop: unsubscribe };
    },

    async close(): Promise<void> {
      closed = true;
      hub.dispose();
    },
  };
}
