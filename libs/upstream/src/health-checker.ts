import { upstreamChannels } from './channels.ts';
import type { UpstreamEndpoint } from './endpoint.ts';

export interface HealthSettings {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** undefined: 200-399. */
  expectedStatuses: ReadonlySet<number> | undefined;
}

export interface HealthHost {
  readonly name: string;
  endpoints(): readonly UpstreamEndpoint[];
  changed(): void;
}

/**
 * Active health checks: GET `path` on every endpoint each interval, through the endpoint's own pool.
 * Endpoints start healthy; unhealthyThreshold failures in a row mark one down, healthyThreshold passes bring it back.
 */
export class HealthChecker {
  readonly #settings: HealthSettings;
  readonly #host: HealthHost;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(settings: HealthSettings, host: HealthHost) {
    this.#settings = settings;
    this.#host = host;
  }

  get settings(): HealthSettings {
    return this.#settings;
  }

  start(): void {
    this.#timer = setInterval(() => this.#round(), this.#settings.intervalMs).unref();
    this.#round();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #round(): void {
    for (const endpoint of this.#host.endpoints()) {
      if (!endpoint.checking && !endpoint.closed) void this.#check(endpoint);
    }
  }

  async #check(endpoint: UpstreamEndpoint): Promise<void> {
    const s = this.#settings;
    endpoint.checking = true;
    let status: number | undefined;
    let error: unknown;
    try {
      const res = await endpoint.pool().request({
        method: 'GET',
        path: s.path,
        headers: { 'user-agent': 'portico-health-check' },
        headersTimeout: s.timeoutMs,
        bodyTimeout: s.timeoutMs,
        signal: AbortSignal.timeout(s.timeoutMs),
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      error = err;
    } finally {
      endpoint.checking = false;
    }
    if (this.#stopped || endpoint.closed) return;
    const ok =
      status !== undefined &&
      (s.expectedStatuses === undefined ? status >= 200 && status < 400 : s.expectedStatuses.has(status));
    this.#record(endpoint, ok, status, error);
  }

  #record(endpoint: UpstreamEndpoint, ok: boolean, status: number | undefined, error: unknown): void {
    const s = this.#settings;
    if (ok) {
      endpoint.checkFailures = 0;
      if (endpoint.healthy || ++endpoint.checkSuccesses < s.healthyThreshold) return;
      endpoint.checkSuccesses = 0;
      endpoint.healthy = true;
    } else {
      endpoint.checkSuccesses = 0;
      if (!endpoint.healthy || ++endpoint.checkFailures < s.unhealthyThreshold) return;
      endpoint.checkFailures = 0;
      endpoint.healthy = false;
    }
    this.#host.changed();
    upstreamChannels.health.publish({
      backend: this.#host.name,
      endpoint: endpoint.key,
      healthy: endpoint.healthy,
      status,
      error,
    });
  }
}
