/**
 * The real bus: one NATS JetStream KV bucket per kind. Values are validated on write and on read; watchers keep
 * the last known state while NATS is away and resync (re-read, re-watch) when it comes back.
 */

import { JetStreamApiCodes, JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, errors as natsErrors } from '@nats-io/transport-node';
import { KINDS, type Kind, type Resource, type ResourceOf } from '@portico/config';
import { PorticoError } from '@portico/errors';
import { busChannels } from './channels.ts';
import { decode, encode, prepareWrite, sameContent, thaw, withMetadata } from './codec.ts';
import { BusClosedError, BusConflictError, BusOptionsError, BusStoreError, BusUnavailableError } from './errors.ts';
import { assertBucketPrefix, bucketName, DEFAULT_BUCKET_PREFIX, resourceKey } from './keys.ts';
import { StateHub } from './state-hub.ts';
import type { ConfigBus, PutResult, StateListener } from './types.ts';

export interface NatsBusOptions {
  servers: string | string[];
  /** Buckets are named `<bucketPrefix>_<kind lowercase>`; default 'portico'. */
  bucketPrefix?: string;
  /** Connection name shown by the server. */
  name?: string;
  /** Milliseconds a NATS request may take before the bus reports it unavailable; default 2000. */
  requestTimeout?: number;
  /** Milliseconds between reconnect attempts (they never stop); default 500. */
  reconnectTimeWait?: number;
}

const DEFAULTS = { name: 'portico-bus', requestTimeout: 2000, reconnectTimeWait: 500 } as const;
/** Revisions kept per key: enough to see recent edits, small enough to stay cheap. */
const HISTORY = 5;
const CAS_ATTEMPTS = 5;

function guardOptions(opts: NatsBusOptions) {
  const servers = typeof opts.servers === 'string' ? [opts.servers] : opts.servers;
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || s === '')) {
    throw new BusOptionsError('servers', 'must be a non-empty URL or a non-empty list of URLs');
  }
  const prefix = opts.bucketPrefix ?? DEFAULT_BUCKET_PREFIX;
  assertBucketPrefix(prefix);
  const requestTimeout = opts.requestTimeout ?? DEFAULTS.requestTimeout;
  if (!Number.isInteger(requestTimeout) || requestTimeout < 1) {
    throw new BusOptionsError('requestTimeout', 'must be a positive integer (milliseconds)');
  }
  const reconnectTimeWait = opts.reconnectTimeWait ?? DEFAULTS.reconnectTimeWait;
  if (!Number.isInteger(reconnectTimeWait) || reconnectTimeWait < 1) {
    throw new BusOptionsError('reconnectTimeWait', 'must be a positive integer (milliseconds)');
  }
  return { servers, prefix, name: opts.name ?? DEFAULTS.name, requestTimeout, reconnectTimeWait };
}

/** Errors that mean "NATS is not reachable right now" rather than "NATS refused this". */
function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (
      e instanceof natsErrors.TimeoutError ||
      e instanceof natsErrors.NoRespondersError ||
      e instanceof natsErrors.ClosedConnectionError ||
      e instanceof natsErrors.ConnectionError ||
      e instanceof natsErrors.DrainingConnectionError
    ) {
      return true;
    }
    if (
      e instanceof JetStreamApiError &&
      (e.status === 503 || e.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)
    ) {
      return true;
    }
    if (/jetstream not enabled|timeout|no responders/i.test(e.message)) return true;
  }
  return false;
}

function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function emptyMaps(): Map<Kind, Map<string, Resource>> {
  return new Map(KINDS.map((k) => [k, new Map<string, Resource>()]));
}

/** One set of bucket watchers; a resync replaces it with a new one. */
class Generation {
  stopped = false;
  live = false;
  readonly maps = emptyMaps();
  readonly iters: Array<{ stop(): void }> = [];
  stop(): void {
    this.stopped = true;
    for (const it of this.iters) it.stop();
  }
}

function isEmpty(maps: { get(kind: Kind): ReadonlyMap<string, unknown> | undefined }): boolean {
  return KINDS.every((k) => (maps.get(k)?.size ?? 0) === 0);
}

export async function createNatsBus(opts: NatsBusOptions): Promise<ConfigBus> {
  const o = guardOptions(opts);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: o.servers,
      name: o.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectTimeWait,
      timeout: o.requestTimeout,
    });
  } catch (err) {
    throw new BusUnavailableError(`cannot connect to NATS at ${o.servers.join(', ')}`, err);
  }
  const js = jetstream(nc, { timeout: o.requestTimeout });
  const kvm = new Kvm(js);
  const buckets = new Map<Kind, KV>();
  let connected = true;
  let closed = false;

  const toBusError = (err: unknown, what: string): PorticoError => {
    if (err instanceof PorticoError) return err;
    if (!connected || isUnreachable(err)) return new BusUnavailableError(`${what}: NATS is unavailable`, err);
    return new BusStoreError(`${what}: ${err instanceof Error ? err.message : String(err)}`, err);
  };

  /** Creates missing buckets (a fresh server after a restart without its store has none). */
  const ensureBuckets = async () => {
    for (const kind of KINDS) buckets.set(kind, await kvm.create(bucketName(o.prefix, kind), { history: HISTORY }));
  };
  try {
    await ensureBuckets();
  } catch (err) {
    await nc.close().catch(() => {});
    throw toBusError(err, 'cannot open the config buckets');
  }

  const hub = new StateHub();
  /** The last value per key that passed validation; what readers keep when a bad value arrives. */
  const lastGood = emptyMaps();

  /** What an entry means for readers: a value to set, a key to remove, or nothing to change. */
  const accept = (kind: Kind, e: KvEntry): Resource | 'remove' | 'keep' => {
    const good = lastGood.get(kind)!;
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
  };

  const apply = (gen: Generation, kind: Kind, e: KvEntry) => {
    const r = accept(kind, e);
    if (r === 'keep') return;
    if (gen.live) {
      if (r === 'remove') hub.remove(kind, e.key);
      else hub.set(kind, e.key, r);
    } else {
      if (r === 'remove') gen.maps.get(kind)!.delete(e.key);
      else gen.maps.get(kind)!.set(e.key, r);
    }
  };

  /**
   * Watches one bucket from the start (last value per key); resolves once every value that existed when the
   * watch began was applied, i.e. the stream's last sequence at that moment was seen.
   */
  const watchBucket = async (gen: Generation, kind: Kind): Promise<void> => {
    const kv = buckets.get(kind)!;
    const { messages, last_seq: lastSeq } = (await kv.status()).streamInfo.state;
    const iter = await kv.watch();
    gen.iters.push(iter);
    if (gen.stopped) iter.stop();
    const { promise: loaded, resolve, reject } = Promise.withResolvers<void>();
    let isLoaded = messages === 0;
    if (isLoaded) resolve();
    void (async () => {
      try {
        for await (const e of iter) {
          if (gen.stopped) break;
          apply(gen, kind, e);
          if (!isLoaded && e.revision >= lastSeq) {
            isLoaded = true;
            resolve();
          }
        }
      } catch (error) {
        busChannels.error.publish({ where: 'watch', error });
      }
      if (!isLoaded) reject(new BusUnavailableError(`watch of ${bucketName(o.prefix, kind)} ended before it loaded`));
      else if (!gen.stopped && !closed && gen === current) {
        busChannels.error.publish({ where: 'watch', error: new Error(`watch of ${bucketName(o.prefix, kind)} ended`) });
        scheduleResync();
      }
    })();
    const timeout = o.requestTimeout * 5;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        loaded,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new BusUnavailableError(`loading ${kind} took over ${timeout} ms`)), timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  let current: Generation | undefined;
  /** Loads every bucket into a new generation and makes it the live state. */
  const loadGeneration = async (): Promise<void> => {
    current?.stop();
    const gen = new Generation();
    current = gen;
    try {
      await ensureBuckets();
      await Promise.all(KINDS.map((k) => watchBucket(gen, k)));
      if (gen.stopped) throw new BusUnavailableError('load superseded');
    } catch (err) {
      gen.stop();
      if (current === gen) current = undefined;
      throw toBusError(err, 'cannot load config');
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
  };

  let started: Promise<void> | undefined;
  const ensureStarted = () => {
    // With no state yet there is nothing last-known to serve, so the first watch() needs NATS.
    if (started === undefined && !connected) {
      return Promise.reject(new BusUnavailableError('cannot load config: NATS is not connected'));
    }
    started ??= loadGeneration().catch((err) => {
      started = undefined;
      throw err;
    });
    return started;
  };

  let resyncToken = 0;
  const scheduleResync = () => {
    if (closed || started === undefined) return;
    const token = ++resyncToken;
    void (async () => {
      await started?.catch(() => {});
      const t0 = performance.now();
      let wait = 100;
      while (!closed && connected && token === resyncToken) {
        try {
          await loadGeneration();
          if (token !== resyncToken) return;
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
  };

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        resyncToken++;
        // Keep the state as last known; only the watchers go (they are rebuilt on reconnect).
        current?.stop();
        current = undefined;
        busChannels.disconnect.publish({ server: s.server });
      } else if (s.type === 'reconnect') {
        connected = true;
        busChannels.reconnect.publish({ server: s.server });
        scheduleResync();
      }
    }
  })();

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new BusClosedError();
    if (!connected) throw new BusUnavailableError(`cannot ${what}: NATS is not connected`);
    try {
      return await fn();
    } catch (err) {
      throw toBusError(err, `cannot ${what}`);
    }
  };

  /** The current valid value of a key, publishing (and skipping) an invalid one. */
  const readValid = (kind: Kind, entry: KvEntry | null): Resource | undefined => {
    if (entry === null) return undefined;
    const r = accept(kind, entry);
    return typeof r === 'string' ? undefined : r;
  };

  return {
    async put(input: Resource): Promise<PutResult> {
      if (closed) throw new BusClosedError();
      const next = prepareWrite(input);
      const kind = next.kind;
      const key = resourceKey(next.metadata.name);
      return call(`write ${kind} "${key}"`, async () => {
        const kv = buckets.get(kind)!;
        for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
          const entry = await kv.get(key);
          // An invalid stored value yields the last good one; it keeps its creationTimestamp but is never "equal".
          const existing = readValid(kind, entry);
          const storedIsValid = existing?.metadata.resourceVersion === String(entry?.revision);
          if (existing !== undefined && storedIsValid && sameContent(existing, next)) {
            return { changed: false, resource: thaw(existing) };
          }
          const stored = withMetadata(next, {
            creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
          });
          try {
            // Compare-and-set on the revision we read, so concurrent writers cannot lose each other's update.
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
    },

    async delete(kind: Kind, name: string): Promise<boolean> {
      const key = resourceKey(name);
      return call(`delete ${kind} "${key}"`, async () => {
        const kv = buckets.get(kind)!;
        const entry = await kv.get(key);
        if (entry === null || entry.operation !== 'PUT') return false;
        await kv.delete(key);
        lastGood.get(kind)!.delete(key);
        return true;
      });
    },

    async get<K extends Kind>(kind: K, name: string): Promise<ResourceOf<K> | undefined> {
      const key = resourceKey(name);
      return call(`read ${kind} "${key}"`, async () => {
        const found = readValid(kind, await buckets.get(kind)!.get(key));
        return found === undefined ? undefined : (thaw(found) as ResourceOf<K>);
      });
    },

    async list<K extends Kind>(kind: K): Promise<ResourceOf<K>[]> {
      return call(`list ${kind}`, async () => {
        const gen = new Generation();
        try {
          await watchBucket(gen, kind);
        } finally {
          gen.stop();
        }
        const all = [...gen.maps.get(kind)!.values()].map((r) => thaw(r) as ResourceOf<K>);
        return all.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
      });
    },

    async watch(listener: StateListener): Promise<{ stop(): void }> {
      if (closed) throw new BusClosedError();
      await ensureStarted();
      hub.flush();
      listener(hub.state);
      return { stop: hub.subscribe(listener) };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      resyncToken++;
      current?.stop();
      current = undefined;
      hub.dispose();
      await nc.close();
    },
  };
}
