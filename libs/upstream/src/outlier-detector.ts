import { upstreamChannels } from './channels.ts';
import type { UpstreamEndpoint } from './endpoint.ts';

export interface OutlierSettings {
  consecutive5xx: number;
  consecutiveConnectFailures: number;
  baseEjectionMs: number;
  maxEjectionPercent: number;
  maxEjectionMs: number;
}

export interface OutlierHost {
  readonly name: string;
  endpoints(): readonly UpstreamEndpoint[];
  /** Ejection state changed: recompute who may take traffic. */
  changed(): void;
}

/**
 * Passive health: consecutive 5xx (resets and timeouts included) or consecutive connect failures eject an endpoint
 * for base x (times ejected), capped; never more than maxEjectionPercent of the endpoints at once (at least one
 * may always go, as in Envoy).
 */
export class OutlierDetector {
  #settings: OutlierSettings;
  readonly #host: OutlierHost;

  constructor(settings: OutlierSettings, host: OutlierHost) {
    this.#settings = settings;
    this.#host = host;
  }

  set settings(settings: OutlierSettings) {
    this.#settings = settings;
  }

  onStatus(endpoint: UpstreamEndpoint, status: number): void {
    endpoint.consecutiveConnectFailures = 0;
    if (status < 500) {
      endpoint.consecutive5xx = 0;
      return;
    }
    if (++endpoint.consecutive5xx >= this.#settings.consecutive5xx)
      this.#eject(endpoint, '5xx', endpoint.consecutive5xx);
  }

  onConnectFailure(endpoint: UpstreamEndpoint): void {
    if (++endpoint.consecutiveConnectFailures >= this.#settings.consecutiveConnectFailures)
      this.#eject(endpoint, 'connect', endpoint.consecutiveConnectFailures);
  }

  #eject(endpoint: UpstreamEndpoint, reason: '5xx' | 'connect', consecutive: number): void {
    if (endpoint.ejected || endpoint.closed) return;
    const s = this.#settings;
    const list = this.#host.endpoints();
    let ejected = 0;
    for (const e of list) if (e.ejected) ejected++;
    const allowed =
      s.maxEjectionPercent === 0 ? 0 : Math.max(1, Math.floor((list.length * s.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    endpoint.ejected = true;
    endpoint.ejections++;
    endpoint.consecutive5xx = 0;
    endpoint.consecutiveConnectFailures = 0;
    const ejectionMs = Math.min(s.baseEjectionMs * endpoint.ejections, Math.max(s.maxEjectionMs, s.baseEjectionMs));
    endpoint.unejectTimer = setTimeout(() => this.uneject(endpoint), ejectionMs).unref();
    this.#host.changed();
    upstreamChannels.ejected.publish({
      backend: this.#host.name,
      endpoint: endpoint.key,
      reason,
      consecutive,
      ejectionMs,
      ejections: endpoint.ejections,
    });
  }

  uneject(endpoint: UpstreamEndpoint): void {
    clearTimeout(endpoint.unejectTimer);
    endpoint.unejectTimer = undefined;
    if (!endpoint.ejected) return;
    endpoint.ejected = false;
    this.#host.changed();
    upstreamChannels.uneject.publish({ backend: this.#host.name, endpoint: endpoint.key });
  }

  /** Outlier detection removed or cluster closing: everyone back, no timers left. */
  stop(): void {
    for (const e of this.#host.endpoints()) {
      e.consecutive5xx = 0;
      e.consecutiveConnectFailures = 0;
      this.uneject(e);
    }
  }
}
