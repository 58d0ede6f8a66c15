/** The last value per key that passed validation: what readers keep when a bad value arrives. */
import type { KvEntry } from '@nats-io/kv';
import type { Kind, Resource } from '@portico/config';
import { busChannels } from '../channels.ts';
import { decode } from '../codec.ts';
import { emptyKindMaps } from '../state-hub.ts';

/** What an entry means for readers: a value to set, a key to remove, or nothing to change. */
export type Verdict = Resource | 'remove' | 'keep';

export class LastGood {
  readonly #maps = emptyKindMaps();

  /** Decodes and validates an entry, remembering a good value; an invalid one is published on busChannels.invalid. */
  accept(kind: Kind, e: KvEntry): Verdict {
    const good = this.#maps.get(kind)!;
    if (e.operation !== 'PUT') {
      good.delete(e.key);
      return 'remove';
    }
    // Same revision as a value already accepted: reuse it, so a resync keeps unchanged values identical.
    const known = good.get(e.key);
    if (known !== undefined && known.metadata.resourceVersion === String(e.revision)) return known;
    const d = decode(kind, e.key, e.value, e.revision);
    if (d.ok) {
      good.set(e.key, d.resource);
      return d.resource;
    }
    busChannels.invalid.publish({ kind, key: e.key, revision: e.revision, errors: d.errors });
    return good.get(e.key) ?? 'keep';
  }

  /** The valid value of a key as read now: the entry's if it is valid, else the last good one. */
  read(kind: Kind, entry: KvEntry | null): Resource | undefined {
    if (entry === null) return undefined;
    const r = this.accept(kind, entry);
    return typeof r === 'string' ? undefined : r;
  }

  forget(kind: Kind, key: string): void {
    this.#maps.get(kind)!.delete(key);
  }
}
