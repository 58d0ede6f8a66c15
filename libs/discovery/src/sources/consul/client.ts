/**
 * The two reads the Consul source makes, over the `consul` npm client: the services list and one service's health,
 * each plain (index 0) or blocking (`index` + `wait`), with the ACL token, the datacenter and the tag filter.
 * Returns the body with its X-Consul-Index; a request in flight is aborted through its `Cancel`.
 */
import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Consul from 'consul';
import { ConsulResponseError } from './errors.ts';
import type { ConsulAddress } from './model.ts';

export interface Fetched {
  index: bigint;
  body: unknown;
}

/** The client's request context: emitting 'cancel' aborts the request in flight; it answers [response, body]. */
export class Cancel extends EventEmitter {
  readonly includeResponse = true;
  constructor() {
    super();
    this.setMaxListeners(0); // one 'cancel' listener per request in flight (a listing runs several)
  }
  cancel(): void {
    this.emit('cancel');
  }
}

/** A non-blocking read that takes longer than this is a failure. */
const READ_TIMEOUT_MS = 10_000;
/** Beyond `wait` and Consul's jitter (at most wait/16), how long a blocking read may take before it is a failure. */
const BLOCKING_GRACE_MS = 5_000;

// The client's typings list only each method's documented options; it also takes the common ones (index, wait,
// timeout, ctx) and a repeated `tag`. One untyped door, checked by `unpack` on the way back.
type RawRead = (options: Record<string, unknown>) => Promise<unknown>;

export class ConsulHttp {
  readonly label: string;
  readonly #consul: Consul;
  readonly #services: RawRead;
  readonly #health: RawRead;
  readonly #tags: string[] | undefined;

  constructor(
    address: ConsulAddress,
    options: { token?: string | undefined; dc?: string | undefined; tags?: readonly string[] | undefined },
  ) {
    this.label = address.label;
    const defaults: { token?: string; dc?: string } = {};
    if (options.token !== undefined) defaults.token = options.token;
    if (options.dc !== undefined) defaults.dc = options.dc;
    this.#consul = new Consul({
      host: address.host,
      port: address.port,
      secure: address.secure,
      defaults,
      agent: address.secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
    });
    this.#services = this.#consul.catalog.service.list.bind(this.#consul.catalog.service) as unknown as RawRead;
    this.#health = this.#consul.health.service.bind(this.#consul.health) as unknown as RawRead;
    this.#tags = options.tags && options.tags.length > 0 ? [...options.tags] : undefined;
  }

  /** GET /v1/catalog/services */
  services(index: bigint, waitMs: number, ctx: Cancel): Promise<Fetched> {
    return this.#read('GET /v1/catalog/services', this.#services, {}, index, waitMs, ctx);
  }

  /** GET /v1/health/service/:name (every instance: health is judged from its checks, see model.ts). */
  health(name: string, index: bigint, waitMs: number, ctx: Cancel): Promise<Fetched> {
    const options: Record<string, unknown> = { service: name };
    // Repeated `tag`: Consul returns only instances carrying all of them (model.ts checks again, for old agents).
    if (this.#tags) options.tag = this.#tags;
    return this.#read(`GET /v1/health/service/${name}`, this.#health, options, index, waitMs, ctx);
  }

  destroy(): void {
    this.#consul.destroy();
  }

  async #read(
    what: string,
    method: RawRead,
    options: Record<string, unknown>,
    index: bigint,
    waitMs: number,
    ctx: Cancel,
  ): Promise<Fetched> {
    const blocking = index > 0n;
    const reply = await method({
      ...options,
      ctx,
      timeout: blocking ? waitMs + Math.ceil(waitMs / 16) + BLOCKING_GRACE_MS : READ_TIMEOUT_MS,
      ...(blocking ? { index: String(index), wait: `${waitMs}ms` } : {}),
    });
    return unpack(what, reply);
  }
}

function unpack(what: string, reply: unknown): Fetched {
  if (!Array.isArray(reply) || typeof reply[0] !== 'object' || reply[0] === null)
    throw new ConsulResponseError(`${what}: the client returned no response`);
  const res = reply[0] as IncomingMessage;
  const header = res.headers['x-consul-index'];
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^[0-9]+$/.test(text))
    throw new ConsulResponseError(`${what}: no X-Consul-Index header (blocking queries unsupported?)`);
  // A token that may read nothing gets an empty 200 flagged as filtered: that is a credentials problem, not an
  // empty registry, and must never empty the endpoint sets.
  const body = reply[1];
  const empty = Array.isArray(body)
    ? body.length === 0
    : typeof body === 'object' && body !== null && Object.keys(body).length === 0;
  if (empty && res.headers['x-consul-results-filtered-by-acls'] === 'true')
    throw new ConsulResponseError(`${what}: every result was filtered out by ACLs (check credentials.token)`);
  return { index: BigInt(text), body };
}

/** papi's HTTP error (`isResponse`, `statusCode`), or undefined for a transport error. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('isResponse' in err)) return undefined;
  const res = (err as { response?: { statusCode?: unknown } }).response;
  return typeof res?.statusCode === 'number' ? res.statusCode : undefined;
}

/** A connection dropped under a request (a kept-alive socket closed by the server): worth one immediate retry. */
export function isConnectionReset(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';
}

/** One line for a failed read: the HTTP status and Consul's message, or the transport error. */
export function describeError(err: unknown): string {
  const status = httpStatusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (status !== undefined) return `HTTP ${status}: ${message}`;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
