/**
 * The write path: validate, encode, then create/update with compare-and-set on the revision read, so concurrent
 * writers never lose each other's update; delete removes the key and its last good value.
 */
import type { Kind, Resource } from '@portico/config';
import { encode, prepareWrite, sameContent, thaw, withMetadata } from '../codec.ts';
import { BusConflictError } from '../errors.ts';
import { resourceKey } from '../keys.ts';
import type { PutResult } from '../types.ts';
import type { Buckets } from './buckets.ts';
import { isWrongLastSequence } from './failures.ts';
import type { LastGood } from './last-good.ts';
import type { NatsLink } from './link.ts';

/** Compare-and-set rounds lost to other writers before a put gives up with BusConflictError. */
const CAS_ATTEMPTS = 5;

export class Writer {
  readonly #buckets: Buckets;
  readonly #lastGood: LastGood;
  readonly #link: NatsLink;

  constructor(buckets: Buckets, lastGood: LastGood, link: NatsLink) {
    this.#buckets = buckets;
    this.#lastGood = lastGood;
    this.#link = link;
  }

  async put(input: Resource): Promise<PutResult> {
    this.#link.assertOpen();
    const next = prepareWrite(input);
    const kind = next.kind;
    const key = resourceKey(next.metadata.name);
    return this.#link.run(`write ${kind} "${key}"`, async () => {
      const kv = this.#buckets.get(kind);
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const entry = await kv.get(key);
        // An invalid stored value yields the last good one; it keeps its creationTimestamp but is never "equal".
        const existing = this.#lastGood.read(kind, entry);
        const storedIsValid = existing?.metadata.resourceVersion === String(entry?.revision);
        if (existing !== undefined && storedIsValid && sameContent(existing, next)) {
          return { changed: false, resource: thaw(existing) };
        }
        const stored = withMetadata(next, {
          creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
        });
        try {
          const revision =
            entry === null
              ? await kv.create(key, encode(stored))
              : await kv.update(key, encode(stored), entry.revision);
          return { changed: true, resource: withMetadata(stored, { resourceVersion: String(revision) }) };
        } catch (err) {
          if (!isWrongLastSequence(err)) throw err;
        }
      }
      throw new BusConflictError(kind, key);
    });
  }

  /** False if absent (never written, or deleted). */
  async delete(kind: Kind, name: string): Promise<boolean> {
    const key = resourceKey(name);
    return this.#link.run(`delete ${kind} "${key}"`, async () => {
      const kv = this.#buckets.get(kind);
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') return false;
      await kv.delete(key);
      this.#lastGood.forget(kind, key);
      return true;
    });
  }
}
