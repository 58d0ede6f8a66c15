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
