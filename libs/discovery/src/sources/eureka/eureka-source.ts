/**
 * Eureka source: the registry's REST API over the global fetch, the way Eureka's own clients read it.
 * - Start with a full fetch (`GET <url>/apps`) -> snapshot().
 * - Every `deltaInterval`: `GET <url>/apps/delta`, applied to the local copy (ADDED/MODIFIED replace, DELETED
 *   removes); the copy's apps hashcode must then equal the delta's `apps__hashcode`, else the copy has drifted
 *   (a missed delta, a server switch) and a full fetch replaces it. Changed apps -> update(), emptied ones -> remove().
 * - Every `refreshInterval`: a full fetch -> snapshot().
 * - Several addresses: one is used until it fails, then the next (fail over, as Eureka clients do).
 * - Outage: down() once, retries with backoff capped at the delta interval, then a full fetch -> snapshot(). A
 *   server that comes back with an empty registry (a restarted standalone server, before its clients re-register)
 *   is not believed for one refreshInterval: the last known endpoints stay, stale, until instances reappear.
 * Service names: eurekaServiceName(app) (lower case). Instance -> endpoint rules: ./eureka/model.ts.
 */
import { durationMs, eurekaServiceName } from '@portico/config';
import type { DiscoverySource, SourceFactory, SourceInit } from '../../source.ts';
import { PollLoop } from '../poll-loop.ts';
import { SkipReporter } from '../skip-reporter.ts';
import { EurekaResponseError, EurekaUnavailableError } from './errors.ts';
import {
  applyDelta,
  buildService,
  type EurekaApps,
  parseApplications,
  parseDelta,
  reconcileHashcode,
} from './model.ts';

export const eurekaSource: SourceFactory<'eureka'> = (init) => new EurekaSource(init);

interface Server {
  url: string;
  authorization: string | undefined;
}

class EurekaSource implements DiscoverySource {
  readonly #sink: SourceInit<'eureka'>['sink'];
  readonly #servers: Server[];
  readonly #filter: Set<string> | undefined;
  readonly #deltaMs: number;
  readonly #refreshMs: number;
  readonly #timeoutMs: number;
  #current = 0;
  /** The local copy; undefined until a full fetch (and again after an outage or a hashcode mismatch). */
  #apps: EurekaApps | undefined;
  #lastFullAt = 0;
  /** Last published endpoints per service (JSON), so a delta repeated by the server publishes nothing new. */
  readonly #published = new Map<string, string>();
  /** Skip reasons already reported per service, so a bad instance is reported once, not on every fetch. */
  readonly #skips: SkipReporter;
  #reportedInvalid = new Set<string>();
  #emptySince: number | undefined;
  readonly #abort = new AbortController();
  readonly #loop: PollLoop;

  constructor({ spec, sink }: SourceInit<'eureka'>) {
    this.#sink = sink;
    this.#skips = new SkipReporter(sink);
    this.#servers = spec.addresses.map((address) => serverOf(address, spec.credentials));
    this.#filter = spec.services === undefined ? undefined : new Set(spec.services.map(eurekaServiceName));
    this.#deltaMs = Math.max(1, durationMs(spec.deltaInterval));
    this.#refreshMs = Math.max(this.#deltaMs, durationMs(spec.refreshInterval));
    this.#timeoutMs = Math.min(10_000, Math.max(1000, 2 * this.#deltaMs));
    this.#loop = new PollLoop({
      round: () =>
        this.#apps === undefined || Date.now() - this.#lastFullAt >= this.#refreshMs
          ? this.#fullFetch()
          : this.#deltaFetch(),
      periodMs: this.#deltaMs,
      maxRetryMs: this.#deltaMs,
      down: (error) => this.#sink.down(error),
      // After a failure nothing is known to be current: the next good round is a full fetch.
      failed: () => {
        this.#apps = undefined;
      },
    });
  }

  async start(): Promise<void> {
    await this.#loop.start();
  }

  async stop(): Promise<void> {
    const stopping = this.#loop.stop();
    this.#abort.abort();
    await stopping;
  }

  async #fullFetch(): Promise<void> {
    const parsed = await this.#get('/apps', parseApplications);
    if (this.#loop.down && parsed.apps.size === 0 && this.#published.size > 0) {
      // Back, but empty: most likely restarted and waiting for its clients to re-register. Keep the stale
      // endpoints for one refresh interval rather than publish an empty registry.
      this.#emptySince ??= Date.now();
      if (Date.now() - this.#emptySince < this.#refreshMs) return;
    }
    this.#emptySince = undefined;
    this.#apps = parsed.apps;
    this.#lastFullAt = Date.now();
    this.#reportedInvalid = new Set();
    this.#reportInvalid(parsed.invalid);
    const services = [];
    const seen = new Set<string>();
    for (const [app, instances] of parsed.apps) {
      const name = eurekaServiceName(app);
      if (!this.#wanted(name)) continue;
      const built = buildService(app, instances);
      this.#skips.report(name, built.skipped);
      this.#published.set(name, JSON.stringify(built.service.endpoints));
      seen.add(name);
      services.push(built.service);
    }
    for (const name of this.#published.keys()) if (!seen.has(name)) this.#forget(name);
    this.#loop.recovered();
    this.#sink.snapshot(services);
  }

  async #deltaFetch(): Promise<void> {
    let delta: ReturnType<typeof parseDelta>;
    try {
      delta = await this.#get('/apps/delta', parseDelta);
    } catch {
      // Delta disabled on the server (403) or a hiccup: a full fetch says whether the registry is really away.
      return this.#fullFetch();
    }
    const apps = this.#apps!;
    this.#reportInvalid(delta.invalid);
    const touched = applyDelta(apps, delta.entries);
    if (reconcileHashcode(apps) !== delta.hashcode) return this.#fullFetch();
    for (const app of touched) {
      const name = eurekaServiceName(app);
      if (!this.#wanted(name)) continue;
      const instances = apps.get(app);
      if (instances === undefined) {
        if (this.#published.has(name)) {
          this.#forget(name);
          this.#sink.remove(name);
        }
        continue;
      }
      const built = buildService(app, instances);
      this.#skips.report(name, built.skipped);
      const key = JSON.stringify(built.service.endpoints);
      if (this.#published.get(name) === key) continue;
      this.#published.set(name, key);
      this.#sink.update(built.service);
    }
  }

  #wanted(name: string): boolean {
    return this.#filter === undefined || this.#filter.has(name);
  }

  #forget(name: string): void {
    this.#published.delete(name);
    this.#skips.forget(name);
  }

  #reportInvalid(invalid: ReadonlyArray<{ app: string; reason: string; raw: string }>): void {
    for (const { app, reason, raw } of invalid) {
      const key = `${app}\n${reason}\n${raw}`;
      if (this.#reportedInvalid.has(key)) continue;
      this.#reportedInvalid.add(key);
      this.#sink.skipped(app === '' ? '' : eurekaServiceName(app), reason, raw);
    }
  }

  /** GET from the current server, failing over to the others in turn; the one that answers becomes current. */
  async #get<T>(path: string, parse: (payload: unknown) => T): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < this.#servers.length; i++) {
      const index = (this.#current + i) % this.#servers.length;
      const server = this.#servers[index]!;
      try {
        const body = await this.#request(server, path, parse);
        this.#current = index;
        return body;
      } catch (error) {
        if (this.#loop.stopped) throw error;
        lastError = error;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new EurekaUnavailableError(`no Eureka server answered GET ${path}: ${reason}`, lastError);
  }

  async #request<T>(server: Server, path: string, parse: (payload: unknown) => T): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (server.authorization !== undefined) headers.authorization = server.authorization;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]);
    const res = await fetch(`${server.url}${path}`, { headers, signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new EurekaResponseError(`${server.url}${path} answered HTTP ${res.status}`, res.status);
    }
    const body = await res.text();
    try {
      // Parsed here, so a garbage answer fails over like an unreachable server.
      return parse(JSON.parse(body));
    } catch (error) {
      throw new EurekaResponseError(`${server.url}${path} did not answer an applications JSON document`, 200, error);
    }
  }
}

/** A service URL without its user info (fetch refuses it) and the Basic credentials to send instead. */
function serverOf(address: string, credentials: { username: string; password: string } | undefined): Server {
  const url = new URL(address);
  let user = credentials?.username;
  let password = credentials?.password;
  if (user === undefined && url.username !== '') {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  }
  url.username = '';
  url.password = '';
  const authorization =
    user === undefined ? undefined : `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
  return { url: url.href.replace(/\/+$/, ''), authorization };
}
