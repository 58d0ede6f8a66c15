import { durationMs, type Service } from '@portico/config';
import { type Balancer, balancers } from './balancer/index.ts';
import { type EndpointCounts, upstreamChannels } from './channels.ts';
import { endpointKey, type PoolOptions, UpstreamEndpoint } from './endpoint.ts';
import { UpstreamClosedError, UpstreamOptionError } from './errors.ts';
import { HealthChecker, type HealthSettings } from './health-checker.ts';
import type { ClusterContext } from './interceptors/chain.ts';
import { composeCluster } from './interceptors/compose.ts';
import type { ClusterDispatch } from './interceptors/retry.ts';
import { OutlierDetector, type OutlierSettings } from './outlier-detector.ts';
import type { CallHandle, ClusterRequest, ClusterStats, EndpointState, ResponseSink } from './types.ts';

const CLOSED_CALL: CallHandle = { abort() {}, resume() {} };

export interface UpstreamClusterOptions {
  /** Upper bound of one ejection however often an endpoint was ejected. */
  maxEjectionTimeMs?: number;
}

/**
 * Defaults live here (the Service schema's `connectionPool` defaults repeat them for editors; a test keeps the
 * two equal). Timeouts: undici's 300 s let a hanging backend hold a request for five minutes.
 */
export const CLUSTER_DEFAULTS = {
  maxEjectionTimeMs: 300_000,
  connections: 128,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 5_000,
  /** Request fully sent -> response headers; nginx's proxy_read_timeout. Slow work belongs in a stream or a job. */
  responseHeadersTimeoutMs: 60_000,
  /** Gap between body chunks: twice the headers time, as SSE and LLM token streams pause (reasoning, tool calls). */
  bodyIdleTimeoutMs: 120_000,
  /** maxRequestsPerClient when unset: this share of the Service's connections (`connections` x endpoints, at least 1). */
  clientShareOfConnections: 0.5,
} as const;

type Spec = Service['spec'];

/** Numbers cluster instances in this process, so diagnostics can tell two clusters of one Service apart. */
let lastClusterId = 0;

/**
 * Everything between "this request goes to Service X" and bytes on an upstream socket: endpoints with their
 * pools, a balancer, passive and active health, and the retry/timeout chain.
 */
export class UpstreamCluster {
  readonly name: string;
  /** Unique in this process; named in the panic and endpoints events. */
  readonly id = ++lastClusterId;
  readonly #options: Required<UpstreamClusterOptions>;
  readonly #stats: ClusterStats = { activeRequests: 0, activeRetries: 0 };
  /** In-flight requests per clientKey; a key is deleted at zero so the map holds only active clients. */
  readonly #clients = new Map<string, number>();
  /** maxRequestsPerClient in force; 0 = not counted. */
  #clientLimit = 0;
  #spec: Spec;
  #list: UpstreamEndpoint[] = [];
  #available: UpstreamEndpoint[] | undefined;
  #panic = false;
  /** The endpoint counts last published, to publish only changes. */
  #counts: EndpointCounts | undefined;
  #lbType: Spec['loadBalancer']['type'];
  #balancer: Balancer<UpstreamEndpoint>;
  #health: HealthChecker | undefined;
  #outlier: OutlierDetector | undefined;
  #closed = false;
  readonly #dispatch: ClusterDispatch;
  readonly #host = {
    name: '',
    endpoints: (): readonly UpstreamEndpoint[] => this.#list,
    changed: (): void => this.#changed(),
  };

  constructor(service: Service, options: UpstreamClusterOptions = {}) {
    guardService(service);
    const v = options.maxEjectionTimeMs;
    if (v !== undefined && !(Number.isInteger(v) && v >= 0))
      throw new UpstreamOptionError('maxEjectionTimeMs', 'must be an integer number of milliseconds >= 0');
    this.#options = {
      maxEjectionTimeMs: options.maxEjectionTimeMs ?? CLUSTER_DEFAULTS.maxEjectionTimeMs,
    };
    this.name = service.metadata.name;
    this.#host.name = this.name;
    this.#spec = service.spec;
    this.#lbType = service.spec.loadBalancer.type;
    this.#balancer = balancers[this.#lbType]();
    const outlierOf = () => this.#outlier;
    const clientLimitOf = () => this.#clientLimit;
    const clients = this.#clients;
    const context: ClusterContext = {
      name: this.name,
      get outlierDetection() {
        return outlierOf() !== undefined;
      },
      get clientLimit() {
        return clientLimitOf();
      },
      acquireClient: (key) => {
        const n = clients.get(key) ?? 0;
        if (n >= this.#clientLimit) return false;
        clients.set(key, n + 1);
        return true;
      },
      releaseClient: (key) => {
        const n = clients.get(key);
        if (n === undefined) return;
        if (n <= 1) clients.delete(key);
        else clients.set(key, n - 1);
      },
      stats: this.#stats,
      select: (hashKey, exclude) => this.#select(hashKey, exclude),
      onStatus: (endpoint, status) => this.#outlier?.onStatus(endpoint, status),
      onConnectFailure: (endpoint) => this.#outlier?.onConnectFailure(endpoint),
    };
    this.#dispatch = composeCluster(context);
    this.#apply(service.spec);
  }

  /**
   * Send a request; the sink hears about the final attempt only. Never throws. The returned handle's abort() is
   * the one way to cancel it.
   */
  dispatch(req: ClusterRequest, sink: ResponseSink): CallHandle {
    if (this.#closed) {
      sink.onResponseError(new UpstreamClosedError({ cluster: this.name }));
      return CLOSED_CALL;
    }
    return this.#dispatch(req, sink);
  }

  /** New endpoints, balancer or health settings. Pools of endpoints that stay are kept; removed ones drain. */
  update(service: Service): void {
    guardService(service);
    if (service.metadata.name !== this.name)
      throw new UpstreamOptionError(
        'service.metadata.name',
        `must stay "${this.name}" (got "${service.metadata.name}")`,
      );
    if (this.#closed) return;
    this.#spec = service.spec;
    this.#apply(service.spec);
  }

  endpoints(): EndpointState[] {
    return this.#list.map((e) => e.state());
  }

  /** Requests this client (a ClusterRequest.clientKey) has in flight, counted against maxRequestsPerClient. */
  inFlightFor(clientKey: string): number {
    return this.#clients.get(clientKey) ?? 0;
  }

  /** How many clients have requests in flight (the per-client map's size). */
  get clientsInFlight(): number {
    return this.#clients.size;
  }

  /** The per-client limit in force (0: none). */
  get maxRequestsPerClient(): number {
    return this.#clientLimit;
  }

  /** Requests and retries in flight (read them, don't write). */
  get stats(): Readonly<ClusterStats> {
    return this.#stats;
  }

  /** Every endpoint is unhealthy or ejected, so all of them take traffic. */
  get panic(): boolean {
    this.#availableList();
    return this.#panic;
  }

  /** Which endpoint the balancer would pick now (advances round robin). For diagnostics and tests. */
  pick(hashKey?: string): EndpointState | undefined {
    return this.#select(hashKey, undefined)?.state();
  }

  /** Graceful: stops health checks, lets in-flight requests finish, then closes every pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#health?.stop();
    this.#outlier?.stop();
    if (this.#panic) upstreamChannels.panic.publish({ backend: this.name, cluster: this.id, panic: false });
    upstreamChannels.endpoints.publish({
      backend: this.name,
      cluster: this.id,
      endpoints: this.#counts ?? countEndpoints(this.#list),
      closed: true,
    });
    await Promise.all(this.#list.map((e) => e.close()));
  }

  #select(hashKey: string | undefined, exclude: ReadonlySet<UpstreamEndpoint> | undefined) {
    const available = this.#availableList();
    if (available.length === 0) return undefined;
    return this.#balancer.pick(available, hashKey, exclude);
  }

  #availableList(): UpstreamEndpoint[] {
    if (this.#available !== undefined) return this.#available;
    let list = this.#list.filter((e) => e.weight > 0 && e.healthy && !e.ejected);
    const wasPanic = this.#panic;
    this.#panic = false;
    if (list.length === 0) {
      // panic mode (Envoy): better to try everyone than to fail everything
      list = this.#list.filter((e) => e.weight > 0);
      this.#panic = list.length > 0;
    }
    if (wasPanic !== this.#panic)
      upstreamChannels.panic.publish({ backend: this.name, cluster: this.id, panic: this.#panic });
    this.#available = list;
    return list;
  }

  #changed(): void {
    this.#available = undefined;
    this.#availableList();
    if (this.#closed || !upstreamChannels.endpoints.hasSubscribers) return;
    const counts = countEndpoints(this.#list);
    const last = this.#counts;
    if (
      last !== undefined &&
      last.healthy === counts.healthy &&
      last.unhealthy === counts.unhealthy &&
      last.ejected === counts.ejected
    )
      return;
    this.#counts = counts;
    upstreamChannels.endpoints.publish({ backend: this.name, cluster: this.id, endpoints: counts, closed: false });
  }

  #apply(spec: Spec): void {
    const pool = poolOptions(spec);
    const perClient = spec.connectionPool?.maxRequestsPerClient;
    // The share is of the whole Service (every endpoint's pool): a client of a 10-endpoint Service may hold more
    // than one of a single endpoint.
    const endpoints = Math.max(1, new Set(spec.endpoints.map((e) => endpointKey(e.address, e.port))).size);
    this.#clientLimit =
      perClient ?? Math.max(1, Math.floor(pool.connections * endpoints * CLUSTER_DEFAULTS.clientShareOfConnections));
    const old = new Map(this.#list.map((e) => [e.key, e]));
    const next: UpstreamEndpoint[] = [];
    for (const def of spec.endpoints) {
      const key = endpointKey(def.address, def.port);
      if (next.some((e) => e.key === key)) continue;
      const kept = old.get(key);
      // A pool can't change protocol: an endpoint switching to or from HTTP/2 gets a new one (the old drains).
      if (kept !== undefined && kept.poolOptions.http2 === pool.http2) {
        old.delete(key);
        kept.weight = def.weight;
        kept.zone = def.zone;
        kept.poolOptions = pool;
        next.push(kept);
      } else {
        next.push(new UpstreamEndpoint(def.address, def.port, def.weight, def.zone, pool));
      }
    }
    for (const gone of old.values()) void gone.close().catch(() => {});
    this.#list = next;

    if (spec.loadBalancer.type !== this.#lbType) {
      this.#lbType = spec.loadBalancer.type;
      this.#balancer = balancers[this.#lbType]();
    }
    this.#balancer.rebuild(next.filter((e) => e.weight > 0));

    const host = this.#host;
    const outlier = outlierSettings(spec, this.#options.maxEjectionTimeMs);
    if (outlier === undefined) {
      this.#outlier?.stop();
      this.#outlier = undefined;
    } else if (this.#outlier === undefined) this.#outlier = new OutlierDetector(outlier, host);
    else this.#outlier.settings = outlier;

    const health = healthSettings(spec);
    if (!sameHealth(health, this.#health?.settings)) {
      this.#health?.stop();
      this.#health = undefined;
      if (health === undefined) for (const e of next) e.healthy = true;
      else {
        this.#health = new HealthChecker(health, host);
        this.#health.start();
      }
    }
    this.#changed();
  }
}

function countEndpoints(list: readonly UpstreamEndpoint[]): EndpointCounts {
  const counts = { healthy: 0, unhealthy: 0, ejected: 0 };
  for (const e of list) {
    if (e.ejected) counts.ejected++;
    else if (!e.healthy) counts.unhealthy++;
    else counts.healthy++;
  }
  return counts;
}

function guardService(service: Service): void {
  if (service === null || typeof service !== 'object') throw new UpstreamOptionError('service', 'must be a Service');
  if (typeof service.metadata?.name !== 'string' || service.metadata.name === '')
    throw new UpstreamOptionError('service.metadata.name', 'must be a non-empty string');
  if (!Array.isArray(service.spec?.endpoints))
    throw new UpstreamOptionError('service.spec.endpoints', 'must be an array (parse the Service with its schema)');
  if (!(service.spec.loadBalancer?.type in balancers))
    throw new UpstreamOptionError(
      'service.spec.loadBalancer.type',
      `must be one of ${Object.keys(balancers).join(', ')}`,
    );
}

function poolOptions(spec: Spec): PoolOptions {
  const p = spec.connectionPool;
  const d = CLUSTER_DEFAULTS;
  return {
    connections: p?.connections ?? d.connections,
    keepAliveTimeoutMs: p ? durationMs(p.keepAliveTimeout) : d.keepAliveTimeoutMs,
    connectTimeoutMs: p ? durationMs(p.connectTimeout) : d.connectTimeoutMs,
    responseHeadersTimeoutMs: p ? durationMs(p.responseHeadersTimeout) : d.responseHeadersTimeoutMs,
    bodyIdleTimeoutMs: p ? durationMs(p.bodyIdleTimeout) : d.bodyIdleTimeoutMs,
    http2: spec.protocol === 'http2' || spec.protocol === 'grpc',
  };
}

function outlierSettings(spec: Spec, maxEjectionMs: number): OutlierSettings | undefined {
  const o = spec.outlierDetection;
  if (o === undefined) return undefined;
  return {
    consecutive5xx: o.consecutive5xx,
    consecutiveConnectFailures: o.consecutiveConnectFailures,
    baseEjectionMs: durationMs(o.baseEjectionTime),
    maxEjectionPercent: o.maxEjectionPercent,
    maxEjectionMs,
  };
}

function healthSettings(spec: Spec): HealthSettings | undefined {
  const h = spec.healthCheck;
  if (h === undefined) return undefined;
  return {
    path: h.path,
    intervalMs: Math.max(1, durationMs(h.interval)),
    timeoutMs: Math.max(1, durationMs(h.timeout)),
    healthyThreshold: h.healthyThreshold,
    unhealthyThreshold: h.unhealthyThreshold,
    expectedStatuses: h.expectedStatuses ? new Set(h.expectedStatuses) : undefined,
  };
}

function sameHealth(a: HealthSettings | undefined, b: HealthSettings | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.path === b.path &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    a.healthyThreshold === b.healthyThreshold &&
    a.unhealthyThreshold === b.unhealthyThreshold &&
    [...(a.expectedStatuses ?? [])].join() === [...(b.expectedStatuses ?? [])].join()
  );
}
