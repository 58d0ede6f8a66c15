/**
 * DNS source: A, AAAA and SRV names through node:dns's Resolver (the Registry's resolvers, else the system's).
 * - Each name is re-resolved when its answer expires: the smallest record TTL, clamped to [minTtl, maxTtl].
 *   SRV: node reports no TTL for SRV records (resolveSrv has no `ttl` option and resolveAny leaves it out for SRV),
 *   so SRV names are re-resolved every minTtl, the configured floor. Their targets are resolved to A and AAAA.
 * - update() only when a name's answer changed; names that share a service `name` are merged into one service.
 * - A failed lookup (timeout, SERVFAIL, refused, resolver down) keeps the last answer and retries with backoff.
 *   When every name is failing: down(), once; the first answer after that: snapshot().
 * - NXDOMAIN / NODATA is an answer, not a failure: the name has no records, so its service has zero endpoints
 *   (published empty, not removed, since the name is still configured; it comes back when the record does).
 * - SRV: only the lowest priority group is healthy; weight and port as the records say (see ./dns/srv.ts).
 * Service names: the entry's `name`, else its DNS name. A and AAAA endpoints carry weight 100.
 */

import type { SrvRecord } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type DiscoveredEndpoint, durationMs, type EndpointProtocol } from '@portico/config';
import type { DiscoveredService, DiscoverySource, SourceFactory, SourceInit } from '../../source.ts';
import { DnsOptionsError, DnsUnavailableError } from './errors.ts';
import { sortEndpoints, srvEndpoints } from './srv.ts';

/** Per try; two tries. A resolver that is down is then seen within ~4 s (a refused port much sooner). */
const QUERY_TIMEOUT_MS = 2000;
/** Retry backoff cap for a failing name (itself clamped to [minTtl, maxTtl]). */
const RETRY_CAP_MS = 5000;
/** "No such name" and "no such record": authoritative empty answers. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

export const dnsSource: SourceFactory<'dns'> = (init) => new DnsSource(init);

interface Entry {
  service: string;
  host: string;
  type: 'A' | 'AAAA' | 'SRV';
  port: number | undefined;
  protocol: EndpointProtocol;
  /** Last answer; undefined until the first one. */
  answer: DiscoveredEndpoint[] | undefined;
  key: string | undefined;
  failing: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** Skip reasons reported for the current answer (a target without addresses), so each is reported once. */
  reported: Set<string>;
}

type Lookup =
  | { ok: true; endpoints: DiscoveredEndpoint[]; ttlMs: number; skipped: string[] }
  | { ok: false; error: Error };

class DnsSource implements DiscoverySource {
  readonly #sink: SourceInit<'dns'>['sink'];
  readonly #resolver: Resolver;
  readonly #entries: Entry[];
  readonly #minMs: number;
  readonly #maxMs: number;
  #down = false;
  #stopped = false;
  readonly #inflight = new Set<Promise<void>>();

  constructor({ spec, sink }: SourceInit<'dns'>) {
    this.#sink = sink;
    this.#minMs = Math.max(1, durationMs(spec.minTtl));
    this.#maxMs = durationMs(spec.maxTtl);
    if (this.#maxMs < this.#minMs) throw new DnsOptionsError('maxTtl', 'must not be less than minTtl');
    this.#resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 2 });
    if (spec.addresses !== undefined && spec.addresses.length > 0) {
      spec.addresses.forEach((address, i) => {
        const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
        if (isIP(host) === 0)
          throw new DnsOptionsError(`addresses[${i}]`, `must be an IP address and port, got "${address}"`);
      });
      this.#resolver.setServers(spec.addresses);
    }
    this.#entries = spec.names.map((n) => ({
      service: n.name ?? n.host,
      host: n.host,
      type: n.type,
      port: n.port,
      protocol: n.protocol,
      answer: undefined,
      key: undefined,
      failing: false,
      failures: 0,
      timer: undefined,
      reported: new Set(),
    }));
  }

  async start(): Promise<void> {
    const results = await Promise.all(this.#entries.map((e) => this.#lookup(e)));
    if (this.#stopped) return;
    let lastError: Error | undefined;
    results.forEach((result, i) => {
      const entry = this.#entries[i]!;
      if (result.ok) this.#accept(entry, result);
      else lastError = this.#fail(entry, result.error);
    });
    if (lastError !== undefined && this.#entries.every((e) => e.failing)) this.#goDown(lastError);
    else this.#sink.snapshot(this.#services());
    results.forEach((result, i) => {
      this.#schedule(this.#entries[i]!, result.ok ? result.ttlMs : undefined);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const entry of this.#entries) clearTimeout(entry.timer);
    this.#resolver.cancel();
    await Promise.allSettled([...this.#inflight]);
  }

  #schedule(entry: Entry, ttlMs: number | undefined): void {
    if (this.#stopped) return;
    const delay =
      ttlMs === undefined
        ? Math.min(this.#clamp(RETRY_CAP_MS), this.#minMs * 2 ** Math.min(entry.failures - 1, 16))
        : this.#clamp(ttlMs);
    entry.timer = setTimeout(() => {
      const run = this.#refresh(entry);
      this.#inflight.add(run);
      void run.finally(() => this.#inflight.delete(run));
    }, delay);
  }

  async #refresh(entry: Entry): Promise<void> {
    const result = await this.#lookup(entry);
    if (this.#stopped) return;
    if (!result.ok) {
      const error = this.#fail(entry, result.error);
      if (!this.#down && this.#entries.every((e) => e.failing)) this.#goDown(error);
      this.#schedule(entry, undefined);
      return;
    }
    const changed = this.#accept(entry, result);
    if (this.#down) {
      this.#down = false;
      this.#sink.snapshot(this.#services());
    } else if (changed) {
      this.#sink.update(this.#service(entry.service));
    }
    this.#schedule(entry, result.ttlMs);
  }

  /** Takes an answer; true when it differs from the last one. */
  #accept(entry: Entry, result: Extract<Lookup, { ok: true }>): boolean {
    entry.failing = false;
    entry.failures = 0;
    const reasons = new Set(result.skipped);
    for (const reason of reasons) if (!entry.reported.has(reason)) this.#sink.skipped(entry.service, reason);
    entry.reported = reasons;
    const key = JSON.stringify(result.endpoints);
    const changed = key !== entry.key;
    entry.answer = result.endpoints;
    entry.key = key;
    return changed;
  }

  #fail(entry: Entry, error: Error): Error {
    entry.failing = true;
    entry.failures++;
    return error;
  }

  #goDown(cause: Error): void {
    this.#down = true;
    this.#sink.down(new DnsUnavailableError(`no DNS name of this registry resolves: ${cause.message}`, cause));
  }

  #clamp(ms: number): number {
    return Math.min(this.#maxMs, Math.max(this.#minMs, ms));
  }

  /** Services with at least one answered name: each name's last answer, merged per service name. */
  #services(): DiscoveredService[] {
    const names = new Set(this.#entries.filter((e) => e.answer !== undefined).map((e) => e.service));
    return [...names].map((name) => this.#service(name));
  }

  #service(name: string): DiscoveredService {
    const endpoints: DiscoveredEndpoint[] = [];
    for (const e of this.#entries) if (e.service === name && e.answer !== undefined) endpoints.push(...e.answer);
    return { name, endpoints };
  }

  async #lookup(entry: Entry): Promise<Lookup> {
    try {
      if (entry.type === 'SRV') return await this.#lookupSrv(entry);
      const { addresses, ttlMs } = await this.#addresses(entry.host, entry.type === 'A' ? 4 : 6);
      const endpoints = addresses.map(
        (address): DiscoveredEndpoint => ({
          address,
          port: entry.port!,
          weight: 100,
          healthy: true,
          protocol: entry.protocol,
          metadata: {},
        }),
      );
      return { ok: true, endpoints: sortEndpoints(endpoints), ttlMs, skipped: [] };
    } catch (error) {
      return { ok: false, error: describe(error, entry.host) };
    }
  }

  async #lookupSrv(entry: Entry): Promise<Lookup> {
    let records: SrvRecord[];
    try {
      records = await this.#resolver.resolveSrv(entry.host);
    } catch (error) {
      if (!isNegative(error)) throw error;
      records = [];
    }
    const targets = [...new Set(records.map((r) => r.name).filter((t) => t !== '' && t !== '.'))];
    const resolved = await Promise.all(targets.map((t) => this.#targetAddresses(t)));
    const addresses = new Map<string, string[]>();
    const skipped: string[] = [];
    targets.forEach((target, i) => {
      addresses.set(target, resolved[i]!);
      if (resolved[i]!.length === 0) skipped.push(`SRV target ${target} has no A or AAAA record`);
    });
    return { ok: true, endpoints: srvEndpoints(records, addresses, entry.protocol), ttlMs: this.#minMs, skipped };
  }

  async #targetAddresses(target: string): Promise<string[]> {
    if (isIP(target) !== 0) return [target];
    const [v4, v6] = await Promise.all([this.#addresses(target, 4), this.#addresses(target, 6)]);
    return [...v4.addresses, ...v6.addresses];
  }

  /** A or AAAA with TTLs; a negative answer is no addresses, re-asked at minTtl. An IP literal resolves to itself. */
  async #addresses(host: string, family: 4 | 6): Promise<{ addresses: string[]; ttlMs: number }> {
    const literal = isIP(host);
    if (literal !== 0) return { addresses: literal === family ? [host] : [], ttlMs: this.#maxMs };
    try {
      const records =
        family === 4
          ? await this.#resolver.resolve4(host, { ttl: true })
          : await this.#resolver.resolve6(host, { ttl: true });
      const ttl = records.length === 0 ? 0 : Math.min(...records.map((r) => r.ttl));
      return { addresses: [...new Set(records.map((r) => r.address))], ttlMs: ttl * 1000 };
    } catch (error) {
      if (isNegative(error)) return { addresses: [], ttlMs: this.#minMs };
      throw error;
    }
  }
}

function isNegative(error: unknown): boolean {
  return NEGATIVE.has((error as { code?: string } | null)?.code ?? '');
}

function describe(error: unknown, host: string): Error {
  if (error instanceof Error) return error;
  return new Error(`lookup of ${host} failed: ${String(error)}`);
}
