import { type ErrorDetail, PorticoError } from '@portico/errors';

/** Errors the proxy answers clients with. Each has a stable code and a status; the body is `toJSON()`. */
export class ProxyError extends PorticoError {}

export class NoRouteError extends ProxyError {
  constructor(host: string, path: string) {
    super('PORTICO_ERR_PROXY_NO_ROUTE', `no route for host "${host}" and path "${path}"`, {
      status: 404,
      details: [
        { path: 'host', message: host },
        { path: 'path', message: path },
      ],
    });
  }
}

export class BadRequestError extends ProxyError {
  constructor(message: string, details: ErrorDetail[] = [], status = 400) {
    super('PORTICO_ERR_PROXY_BAD_REQUEST', message, { status, details });
  }
}

export class HeadersTooLargeError extends ProxyError {
  constructor() {
    super('PORTICO_ERR_PROXY_HEADERS_TOO_LARGE', 'request headers are too large', { status: 431 });
  }
}

export class BodyTooLargeError extends ProxyError {
  constructor(limit: number) {
    super('PORTICO_ERR_PROXY_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`, {
      status: 413,
      details: [{ path: 'content-length', message: `at most ${limit} bytes` }],
    });
  }
}

export class BackendNotFoundError extends ProxyError {
  constructor(route: string, backend: string) {
    // Gateway API: a request routed to a backendRef that does not resolve gets a 500.
    super(
      'PORTICO_ERR_PROXY_BACKEND_NOT_FOUND',
      `route "${route}" sends to service "${backend}", which does not exist`,
      {
        status: 500,
        details: [{ path: 'backendRefs.name', message: backend }],
      },
    );
  }
}

export class NoBackendError extends ProxyError {
  constructor(route: string) {
    super('PORTICO_ERR_PROXY_NO_BACKEND', `route "${route}" has no backend with a weight above 0`, { status: 500 });
  }
}

export class ProxyTimeoutError extends ProxyError {
  constructor(route: string, ms: number) {
    super('PORTICO_ERR_PROXY_TIMEOUT', `route "${route}" timed out after ${ms} ms`, { status: 504 });
  }
}

/** The client did not send its request head (or whole request) within the listener's timeout. */
export class ClientTimeoutError extends ProxyError {
  constructor(what: 'head' | 'request', ms: number) {
    super('PORTICO_ERR_PROXY_CLIENT_TIMEOUT', `the request ${what} was not received within ${ms} ms`, {
      status: 408,
      details: [{ path: 'request', message: what === 'head' ? 'headers timeout' : 'request timeout' }],
    });
  }
}

/** An Upgrade the matched rule does not tunnel (not in `rules[].upgrades`, h2c, or a malformed handshake). */
export class UpgradeNotAllowedError extends ProxyError {
  constructor(route: string, message: string, allowed: Iterable<string>) {
    const list = [...allowed].join(', ');
    super('PORTICO_ERR_PROXY_UPGRADE_NOT_ALLOWED', `route "${route}": ${message}`, {
      status: 400,
      details: [{ path: 'upgrade', message: list === '' ? 'this route allows no upgrade' : `allowed: ${list}` }],
    });
  }
}

/**
 * What a client hears about an upstream failure: the upstream error's stable code and status with a generic
 * message and safe details (route, service). Never the endpoint address or the transport's own words: those go to
 * the log, under the same request id.
 */
export class UpstreamFailureError extends ProxyError {
  constructor(code: string, status: number, route: string, backend: string) {
    super(code, UPSTREAM_MESSAGES[code] ?? upstreamMessageByStatus(status), {
      status,
      details: [
        { path: 'route', message: route },
        { path: 'backend', message: backend },
      ],
    });
  }
}

/** One generic message per upstream error code (libs/upstream/src/errors.ts). */
const UPSTREAM_MESSAGES: Readonly<Record<string, string>> = {
  PORTICO_ERR_UPSTREAM_CONNECT: 'upstream connect failed',
  PORTICO_ERR_UPSTREAM_RESET: 'upstream connection reset',
  PORTICO_ERR_UPSTREAM_TIMEOUT: 'upstream timed out',
  PORTICO_ERR_UPSTREAM_NO_ENDPOINTS: 'no upstream endpoint available',
  PORTICO_ERR_UPSTREAM_CLOSED: 'upstream unavailable',
  PORTICO_ERR_UPSTREAM_ALL_FAILED: 'upstream request failed after retries',
  PORTICO_ERR_UPSTREAM_REQUEST: 'upstream request failed',
  PORTICO_ERR_UPSTREAM_CLIENT_LIMIT: 'too many requests in flight from this client to this service',
  PORTICO_ERR_UPSTREAM_CLIENT_BODY: 'the request body could not be read',
};

/** Codes added later (a per-client limit, say) still get a message that says nothing internal. */
function upstreamMessageByStatus(status: number): string {
  if (status === 429) return 'too many requests from this client to this service';
  if (status === 503) return 'upstream unavailable';
  if (status === 504) return 'upstream timed out';
  return 'upstream request failed';
}
