import { type DubboInvocation, type DubboResult, encodeRequestBody } from './codec.ts';
import { DubboConnection } from './connection.ts';
import { DubboArgumentError, DubboClientClosedError, DubboConnectError, DubboOptionError } from './errors.ts';
import { DEFAULT_PAYLOAD_LIMIT } from './frame.ts';

export interface DubboClientOptions {
  /** Connections kept per provider `host:port`; calls go to the one with the fewest in flight. Default 1. */
  connectionsPerEndpoint?: number;
  /** Default 3000. */
  connectTimeoutMs?: number;
  /** Call timeout when a call names none. Default 3000. */
  timeoutMs?: number;
  /** Idle time before a heartbeat is sent. Default 60000 (Dubbo's `heartbeat`). */
  heartbeatIntervalMs?: number;
  /** Heartbeat intervals without any byte read before the connection is dropped. Default 3 (as Dubbo). */
  heartbeatMisses?: number;
  /** Largest body sent or accepted. Default 8 MiB (Dubbo's `payload`). */
  payloadLimit?: number;
  /** Wait after a failed connect before the next attempt to that endpoint; doubles per failure. Default 100. */
  reconnectBackoffMs?: number;
  /** Ceiling of that wait. Default 5000. */
  reconnectBackoffMaxMs?: number;
}

export interface DubboEndpoint {
  host: string;
  port: number;
}

export interface DubboCall extends DubboInvocation {
  /** Default: the client's `timeoutMs`. */
  timeoutMs?: number;
}

const DEFAULTS = {
  connectionsPerEndpoint: 1,
  connectTimeoutMs: 3000,
  timeoutMs: 3000,
  heartbeatIntervalMs: 60_000,
  heartbeatMisses: 3,
  payloadLimit: DEFAULT_PAYLOAD_LIMIT,
  reconnectBackoffMs: 100,
  reconnectBackoffMaxMs: 5000,
} satisfies Required<DubboClientOptions>;

interface EndpointPool {
  host: string;
  port: number;
  connections: DubboConnection[];
  connecting: Promise<DubboConnection> | undefined;
  failures: number;
  retryAt: number;
  lastError: unknown;
}

/**
 * A Dubbo 2 (hessian2) client: pooled, multiplexed TCP connections per provider `host:port`, opened on first use
 * and again after a loss, with exponential backoff after connect failures (a call in the backoff window fails at
 * once with the last connect error, so a balancer can pick another provider).
 */
export class DubboClient {
  readonly #options: Required<DubboClientOptions>;
  readonly #pools = new Map<string, EndpointPool>();
  #closed = false;

  constructor(options: DubboClientOptions = {}) {
    const merged = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options) as Array<[keyof DubboClientOptions, number | undefined]>) {
      if (value === undefined) continue;
      if (!(key in DEFAULTS)) throw new DubboOptionError(key, 'is not an option of DubboClient');
      if (!Number.isInteger(value) || value < 1) throw new DubboOptionError(key, 'must be an integer >= 1');
      merged[key] = value;
    }
    this.#options = merged;
  }

  /** Calls a method and resolves with its return value (see `fromHessian` for the JS forms). */
  async invoke(endpoint: DubboEndpoint | string, call: DubboCall): Promise<unknown> {
    return (await this.invokeWithAttachments(endpoint, call)).value;
  }

  /** As `invoke`, with the attachments the provider sent back. */
  async invokeWithAttachments(endpoint: DubboEndpoint | string, call: DubboCall): Promise<DubboResult> {
    if (this.#closed) throw new DubboClientClosedError();
    const timeoutMs = call.timeoutMs ?? this.#options.timeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new DubboOptionError('timeoutMs', 'must be an integer >= 1');
    let body: Buffer;
    try {
      body = encodeRequestBody(call, timeoutMs);
    } catch (err) {
      if (err instanceof DubboArgumentError) throw err;
      throw new DubboArgumentError('args', 'values hessian can encode', (err as Error).message);
    }
    const connection = await this.#connection(parseEndpoint(endpoint));
    return connection.call(body, timeoutMs);
  }

  /** Closes every connection; calls in flight fail, later calls are refused. */
  close(): void {
    this.#closed = true;
    for (const pool of this.#pools.values()) for (const conn of pool.connections) conn.close();
    this.#pools.clear();
  }

  /** Connections per endpoint and calls in flight on each: for metrics and tests. */
  stats(): Record<string, Array<{ state: string; inFlight: number }>> {
    const out: Record<string, Array<{ state: string; inFlight: number }>> = {};
    for (const [key, pool] of this.#pools) {
      out[key] = pool.connections.map((c) => ({ state: c.state, inFlight: c.inFlight }));
    }
    return out;
  }

  async #connection(endpoint: DubboEndpoint): Promise<DubboConnection> {
    const key = `${endpoint.host}:${endpoint.port}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = { ...endpoint, connections: [], connecting: undefined, failures: 0, retryAt: 0, lastError: undefined };
      this.#pools.set(key, pool);
    }
    const open = pool.connections.filter((c) => c.state === 'open');
    if (open.length >= this.#options.connectionsPerEndpoint || (open.length > 0 && pool.connecting)) {
      return open.reduce((best, c) => (c.inFlight < best.inFlight ? c : best));
    }
    pool.connecting ??= this.#connect(pool, key);
    return pool.connecting;
  }

  async #connect(pool: EndpointPool, key: string): Promise<DubboConnection> {
    try {
      if (Date.now() < pool.retryAt) throw new DubboConnectError(key, pool.lastError);
      const conn = await DubboConnection.open({
        host: pool.host,
        port: pool.port,
        connectTimeoutMs: this.#options.connectTimeoutMs,
        heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
        heartbeatMisses: this.#options.heartbeatMisses,
        payloadLimit: this.#options.payloadLimit,
      });
      if (this.#closed) {
        conn.close();
        throw new DubboClientClosedError();
      }
      pool.failures = 0;
      pool.connections.push(conn);
      const drop = (c: DubboConnection) => {
        pool.connections = pool.connections.filter((x) => x !== c);
      };
      conn.onClose(drop);
      // A provider shutting down: the drained connection is closed; the next call opens a fresh one.
      conn.onDrained((c) => c.close());
      return conn;
    } catch (err) {
      if (err instanceof DubboConnectError && Date.now() >= pool.retryAt) {
        pool.failures++;
        pool.lastError = err.cause;
        const wait = Math.min(
          this.#options.reconnectBackoffMs * 2 ** (pool.failures - 1),
          this.#options.reconnectBackoffMaxMs,
        );
        pool.retryAt = Date.now() + wait;
      }
      throw err;
    } finally {
      pool.connecting = undefined;
    }
  }
}

function parseEndpoint(endpoint: DubboEndpoint | string): DubboEndpoint {
  if (typeof endpoint !== 'string') return endpoint;
  const colon = endpoint.lastIndexOf(':');
  const port = Number(endpoint.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DubboOptionError('endpoint', `must be host:port, got "${endpoint}"`);
  }
  return { host: endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}
