/**
 * Consul source: blocking queries (Consul's long polling) over the `consul` npm client.
 * - Listing (at start, every refreshInterval, after a failure): GET /v1/catalog/services, then for each wanted
 *   service GET /v1/health/service/<name> -> snapshot(). The listing's indexes seed the watches, so nothing that
 *   changes between the listing and the first blocking read is missed.
 * - Watches: one blocking query on /v1/catalog/services (services added -> a new health watch; gone -> remove()),
 *   and one per service on /v1/health/service/<name> -> update() when its endpoints changed. revision = the
 *   service's X-Consul-Index.
 * - Health: each service is read once, WITHOUT `?passing`, and an instance is healthy when every one of its checks
 *   is passing (what `?passing` keeps). So the routed set is exactly `?passing`'s, and the instances it would hide
 *   (failing, warning, in maintenance) are still published with healthy: false, as the source contract asks —
 *   from the same response and index, so the two can never disagree, with one long poll per service, not two.
 * - Filters: `services` (names), `tags` (a service and each instance must carry all of them; also sent to Consul as
 *   repeated `tag`), `datacenter` (`dc`), the ACL token (X-Consul-Token).
 * - Failure of any read: the watches stop and a listing is tried on every address in turn (fail over). If none
 *   answers: down() once, then retries with backoff (250 ms doubling, capped at min(5 s, refreshInterval)); the
 *   listing that succeeds -> snapshot(). A single dropped kept-alive connection is retried once before that.
 * - One bad instance -> skipped() (once per instance and reason) and left out; a service whose health read is
 *   refused (HTTP 4xx other than 403/429) keeps its last known endpoints and is reported skipped.
 * Instance -> endpoint rules: ./consul/model.ts.
 */
import { durationMs } from '@portico/config';
import type {
  DiscoveredService,
  DiscoverySource,
  SourceFactory,
  SourceInit,
  SourceSink,
  SpecOf,
} from '../../source.ts';
import { Cancel, ConsulHttp, describeError, httpStatusOf } from './client.ts';
import { ConsulUnavailableError } from './errors.ts';
import { buildService, parseAddress, type Skip, selectServices } from './model.ts';
import { BlockingWatch } from './watch.ts';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;
/** Health reads in flight at once during a listing. */
const LIST_CONCURRENCY = 8;

export const consulSource: SourceFactory<'consul'> = (init) => new ConsulSource(init);

interface Listing {
  client: number;
  catalogIndex: bigint;
  /** Per wanted service: its health response, or the 4xx that refused it. */
  services: Array<{ name: string; fetched?: { index: bigint; body: unknown }; refused?: unknown }>;
}

class ConsulSource implements DiscoverySource {
  readonly #sink: SourceSink;
  readonly #spec: SpecOf<'consul'>;
  readonly #clients: ConsulHttp[];
  readonly #waitMs: number;
  readonly #refreshMs: number;
  readonly #retryCapMs: number;
  #current = 0;
  #stopped = false;
  #downReported = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #listCtx: Cancel | undefined;
  #catalogWatch: BlockingWatch | undefined;
  readonly #watches = new Map<string, BlockingWatch>();
  /** Last published service per name, and its endpoints as JSON (an unchanged answer publishes nothing). */
  readonly #published = new Map<string, { service: DiscoveredService; key: string }>();
  /** Skips already reported per service, so a bad instance is reported once, not on every answer. */
  readonly #reported = new Map<string, Set<string>>();

  constructor({ spec, sink }: SourceInit<'consul'>) {
    if (spec.addresses.length === 0) throw new TypeError('spec.addresses: at least one Consul address is required');
    this.#sink = sink;
    this.#spec = spec;
    this.#waitMs = Math.min(Math.max(durationMs(spec.wait), 1), 10 * 60_000);
    this.#refreshMs = Math.max(durationMs(spec.refreshInterval), 100);
    this.#retryCapMs = Math.min(MAX_RETRY_MS, this.#refreshMs);
    this.#clients = spec.addresses.map(
      (a) => new ConsulHttp(parseAddress(a), { token: spec.credentials?.token, dc: spec.datacenter, tags: spec.tags }),
    );
  }

  async start(): Promise<void> {
    await this.#resync();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stopWatches();
    this.#listCtx?.cancel();
    await this.#syncing;
    for (const c of this.#clients) c.destroy();
  }

  /** A full listing -> snapshot(), then fresh watches; on failure down() (once) and a retry. Never rejects. */
  #resync(): Promise<void> {
    this.#syncing ??= this.#doResync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #doResync(): Promise<void> {
    clearTimeout(this.#timer);
    this.#stopWatches();
    let lastError: unknown;
    for (let i = 0; i < this.#clients.length && !this.#stopped; i++) {
      const at = (this.#current + i) % this.#clients.length;
      try {
        const listing = await this.#list(at);
        if (this.#stopped) return;
        this.#current = at;
        this.#apply(listing);
        this.#attempt = 0;
        this.#downReported = false;
        this.#schedule(this.#refreshMs);
        return;
      } catch (err) {
        lastError = err;
      }
    }
    if (this.#stopped) return;
    if (!this.#downReported) {
      this.#downReported = true;
      const where = this.#clients.map((c) => c.label).join(', ');
      this.#sink.down(
        new ConsulUnavailableError(`Consul unreachable at ${where}: ${describeError(lastError)}`, lastError),
      );
    }
    const backoff = Math.min(this.#retryCapMs, FIRST_RETRY_MS * 2 ** this.#attempt++);
    this.#schedule(backoff * (0.8 + Math.random() * 0.4));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#resync(), ms);
  }

  async #list(at: number): Promise<Listing> {
    const client = this.#clients[at]!;
    const ctx = new Cancel();
    this.#listCtx = ctx;
    try {
      const catalog = await client.services(0n, this.#waitMs, ctx);
      const names = selectServices(catalog.body, this.#spec);
      const services: Listing['services'] = names.map((name) => ({ name }));
      let next = 0;
      const worker = async () => {
        while (next < services.length && !this.#stopped) {
          const slot = services[next++]!;
          try {
            slot.fetched = await client.health(slot.name, 0n, this.#waitMs, ctx);
          } catch (err) {
            if (!refusedOnly(err)) throw err;
            slot.refused = err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, services.length) }, worker));
      return { client: at, catalogIndex: catalog.index, services };
    } catch (err) {
      ctx.cancel(); // the other reads of this listing are moot
      throw err;
    } finally {
      if (this.#listCtx === ctx) this.#listCtx = undefined;
    }
  }

  #apply(listing: Listing): void {
    const snapshot: DiscoveredService[] = [];
    const names = new Set(listing.services.map((s) => s.name));
    for (const name of [...this.#published.keys()]) if (!names.has(name)) this.#forget(name);
    for (const { name, fetched, refused } of listing.services) {
      if (fetched) {
        const built = buildService(name, fetched.body, fetched.index, this.#spec.tags);
        if (built) {
          this.#report(name, built.skipped);
          this.#published.set(name, { service: built.service, key: JSON.stringify(built.service.endpoints) });
        } else {
          this.#sink.skipped(name, 'health response is not a list', safeJson(fetched.body));
        }
      } else {
        this.#sink.skipped(name, `health read refused: ${describeError(refused)}`);
      }
      const known = this.#published.get(name);
      if (known) snapshot.push(known.service);
    }
    this.#sink.snapshot(snapshot);

    this.#catalogWatch = new BlockingWatch({
      index: listing.catalogIndex,
      fetch: (index, ctx) => this.#clients[this.#current]!.services(index, this.#waitMs, ctx),
      onChange: (body) => this.#catalogChanged(body),
      onError: () => this.#failed(),
    });
    for (const { name, fetched } of listing.services) if (fetched) this.#watch(name, fetched.index);
  }

  #catalogChanged(body: unknown): void {
    const names = new Set(selectServices(body, this.#spec));
    for (const name of new Set([...this.#watches.keys(), ...this.#published.keys()])) {
      if (names.has(name)) continue;
      this.#watches.get(name)?.stop();
      this.#watches.delete(name);
      if (this.#published.has(name)) this.#sink.remove(name);
      this.#forget(name);
    }
    for (const name of names) if (!this.#watches.has(name)) this.#watch(name, 0n);
  }

  #watch(name: string, index: bigint): void {
    this.#watches.set(
      name,
      new BlockingWatch({
        index,
        fetch: (i, ctx) => this.#clients[this.#current]!.health(name, i, this.#waitMs, ctx),
        onChange: (body, i) => this.#healthChanged(name, body, i),
        onError: (err) => {
          if (!refusedOnly(err)) return this.#failed();
          // Consul refuses this one service: keep what is known of it, try again at the next listing.
          this.#watches.delete(name);
          this.#sink.skipped(name, `health read refused: ${describeError(err)}`);
        },
      }),
    );
  }

  #healthChanged(name: string, body: unknown, index: bigint): void {
    const built = buildService(name, body, index, this.#spec.tags);
    if (!built) return this.#sink.skipped(name, 'health response is not a list', safeJson(body));
    this.#report(name, built.skipped);
    const key = JSON.stringify(built.service.endpoints);
    if (this.#published.get(name)?.key === key) return;
    this.#published.set(name, { service: built.service, key });
    this.#sink.update(built.service);
  }

  /** A watch failed: stop them all and list again, trying each address; down() only if none answers. */
  #failed(): void {
    if (this.#stopped || this.#syncing) return;
    void this.#resync();
  }

  #report(name: string, skipped: readonly Skip[]): void {
    if (skipped.length === 0) return;
    const seen = this.#reported.get(name) ?? new Set<string>();
    this.#reported.set(name, seen);
    for (const s of skipped) {
      if (seen.has(s.key)) continue;
      seen.add(s.key);
      this.#sink.skipped(name, s.reason, s.raw);
    }
  }

  #forget(name: string): void {
    this.#published.delete(name);
    this.#reported.delete(name);
  }

  #stopWatches(): void {
    this.#catalogWatch?.stop();
    this.#catalogWatch = undefined;
    for (const w of this.#watches.values()) w.stop();
    this.#watches.clear();
  }
}

/** An HTTP 4xx that concerns the request (not auth, not load): Consul will not serve this read, the rest is fine. */
function refusedOnly(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 403 && status !== 429;
}

function safeJson(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 2_000);
  } catch {
    return String(v);
  }
}
