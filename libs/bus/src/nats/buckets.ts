/** The config buckets, one JetStream KV bucket per kind. */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { KINDS, type Kind } from '@portico/config';
import { bucketName } from '../keys.ts';

/** Revisions kept per key: enough to see recent edits, small enough to stay cheap. */
const HISTORY = 5;

export class Buckets {
  readonly #kvm: Kvm;
  readonly #prefix: string;
  readonly #open = new Map<Kind, KV>();

  constructor(js: JetStreamClient, prefix: string) {
    this.#kvm = new Kvm(js);
    this.#prefix = prefix;
  }

  /** Opens every bucket, creating missing ones (a fresh server after a restart without its store has none). */
  async ensure(): Promise<void> {
    for (const kind of KINDS) this.#open.set(kind, await this.#kvm.create(this.name(kind), { history: HISTORY }));
  }

  /** The bucket of a kind; ensure() has run. */
  get(kind: Kind): KV {
    return this.#open.get(kind)!;
  }

  name(kind: Kind): string {
    return bucketName(this.#prefix, kind);
  }
}
