import { BusOptionsError } from '../errors.ts';
import { assertBucketPrefix, DEFAULT_BUCKET_PREFIX } from '../keys.ts';

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

/** The options with every default filled in and every rule checked. */
export interface ResolvedNatsBusOptions {
  servers: string[];
  prefix: string;
  name: string;
  requestTimeout: number;
  reconnectTimeWait: number;
}

const DEFAULTS = { name: 'portico-bus', requestTimeout: 2000, reconnectTimeWait: 500 } as const;

export function resolveOptions(opts: NatsBusOptions): ResolvedNatsBusOptions {
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
