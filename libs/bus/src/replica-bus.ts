/**
 * A read-only bus fed by another process (a proxy worker fed by its primary over IPC). The primary owns the
 * real bus; each change arrives here as the whole state, and only entries whose resourceVersion moved are
 * validated again. An invalid entry keeps the last good value, like every other bus.
 */
import { KINDS, type Kind, type Resource, validateResource } from '@portico/config';
import { busChannels } from './channels.ts';
import { deepFreeze } from './codec.ts';
import { BusReadOnlyError } from './errors.ts';
import { StateHub } from './state-hub.ts';
import type { ConfigBus, ConfigState, StateListener } from './types.ts';

/** What the primary sends: every resource, as stored (resourceVersion set). */
export interface ReplicaMessage {
  type: 'portico:replica-state';
  resources: unknown[];
}

/** Turns a state into the message a replica applies. */
export function replicaMessage(state: ConfigState): ReplicaMessage {
  const resources: Resource[] = [];
  for (const kind of KINDS) for (const r of state.get(kind).values()) resources.push(r);
  return { type: 'portico:replica-state', resources };
}

export function isReplicaMessage(value: unknown): value is ReplicaMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as ReplicaMessage).type === 'portico:replica-state' &&
    Array.isArray((value as ReplicaMessage).resources)
  );
}

export interface ReplicaBus {
  bus: ConfigBus;
  /** Replaces the whole state with the primary's; returns how many entries were rejected. */
  apply(message: ReplicaMessage): number;
}

function readOnly(): never {
  throw new BusReadOnlyError();
}

export function createReplicaBus(): ReplicaBus {
  const hub = new StateHub();
  let received = false;
  let firstState: (() => void) | undefined;
  const first = new Promise<void>((resolve) => {
    firstState = resolve;
  });

  const apply = (message: ReplicaMessage): number => {
    const maps = new Map<Kind, Map<string, Resource>>(KINDS.map((k) => [k, new Map()]));
    let rejected = 0;
    for (const raw of message.resources) {
      const doc = raw as { kind?: unknown; metadata?: { name?: unknown; resourceVersion?: unknown } };
      const kind = doc?.kind as Kind;
      const name = String(doc?.metadata?.name ?? '');
      const previous = maps.has(kind) ? hub.peek(kind, name) : undefined;
      if (previous !== undefined && previous.metadata.resourceVersion === doc.metadata?.resourceVersion) {
        maps.get(kind)!.set(name, previous);
        continue;
      }
      const result = validateResource(raw);
      if (result.ok) {
        maps.get(result.resource.kind)!.set(result.resource.metadata.name, deepFreeze(result.resource));
        continue;
      }
      rejected++;
      busChannels.invalid.publish({
        kind,
        key: name,
        revision: Number(doc?.metadata?.resourceVersion ?? 0),
        errors: result.errors,
      });
      if (previous !== undefined) maps.get(kind)!.set(name, previous);
    }
    hub.replaceAll(maps);
    hub.flush();
    if (!received) {
      received = true;
      firstState?.();
    }
    return rejected;
  };

  const bus: ConfigBus = {
    put: async () => readOnly(),
    delete: async () => readOnly(),
    async get(kind, name) {
      return hub.peek(kind, name) as never;
    },
    async list(kind) {
      return hub.values(kind).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)) as never;
    },
    async watch(listener: StateListener) {
      await first;
      const stop = hub.subscribe(listener);
      listener(hub.state);
      return { stop };
    },
    async close() {
      hub.dispose();
    },
  };
  return { bus, apply };
}
