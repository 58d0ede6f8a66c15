import { Pool } from 'undici';
import type { EndpointState } from './types.ts';

export interface PoolOptions {
  connections: number;
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** From the request fully sent to response headers; 0 disables. Applied per request (updates apply at once). */
  responseHeadersTimeoutMs: number;
  /** Longest silence between response body chunks; 0 disables. Applied per request. */
  bodyIdleTimeoutMs: number;
  /** Speak HTTP/2 with prior knowledge (h2c): Services with protocol http2 or grpc. */
  http2: boolean;
}

/** One endpoint of a cluster: its balancing weight, health, outlier counters and (lazily) its undici Pool. */
export class UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
  /** `address:port`, IPv6 in brackets: identity across updates. */
  readonly key: string;
  weight: number;
  zone: string | undefined;
  healthy = true;
  ejected = false;
  active = 0;

  // outlier detection
  consecutive5xx = 0;
  consecutiveConnectFailures = 0;
  ejections = 0;
  unejectTimer: NodeJS.Timeout | undefined;

  // active health checks
  checkSuccesses = 0;
  checkFailures = 0;
  checking = false;

  #pool: Pool | undefined;
  /** Used when the pool is created; an existing pool keeps the options it was made with. */
  poolOptions: PoolOptions;
  #closed = false;

  constructor(address: string, port: number, weight: number, zone: string | undefined, poolOptions: PoolOptions) {
    this.address = address;
    this.port = port;
    this.key = endpointKey(address, port);
    this.weight = weight;
    this.zone = zone;
    this.poolOptions = poolOptions;
  }

  /** The keep-alive pool, created on first use. */
  pool(): Pool {
    if (this.#pool === undefined) {
      const o = this.poolOptions;
      this.#pool = new Pool(`http://${this.key}`, {
        connections: o.connections,
        keepAliveTimeout: o.keepAliveTimeoutMs,
        headersTimeout: o.responseHeadersTimeoutMs,
        bodyTimeout: o.bodyIdleTimeoutMs,
        connect: { timeout: o.connectTimeoutMs },
        ...(o.http2 ? { allowH2: true, useH2c: true } : {}),
      });
    }
    return this.#pool;
  }

  get hasPool(): boolean {
    return this.#pool !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Graceful: requests in flight finish, then the sockets close. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.unejectTimer);
    const pool = this.#pool;
    if (pool && !pool.closed && !pool.destroyed) await pool.close();
  }

  state(): EndpointState {
    return {
      address: this.address,
      port: this.port,
      weight: this.weight,
      zone: this.zone,
      healthy: this.healthy,
      ejected: this.ejected,
      active: this.active,
    };
  }
}

export function endpointKey(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}
