import { PorticoError } from '@portico/errors';

/** Where an upstream error happened; both are in the message too. */
export interface UpstreamErrorWhere {
  cluster: string;
  /** `address:port`, when an endpoint had been picked. */
  endpoint?: string;
}

/**
 * Base of every error the cluster hands to a sink. `status` is what the client should get
 * (502, 503, 504; 499 when the client itself went away).
 */
export class UpstreamError extends PorticoError {
  readonly cluster: string;
  readonly endpoint: string | undefined;
  /** True when the request never reached the endpoint (nothing sent, body untouched): safe to retry anywhere. */
  readonly connectFailure: boolean;

  constructor(
    code: string,
    status: number,
    message: string,
    where: UpstreamErrorWhere,
    options: { cause?: unknown; connectFailure?: boolean } = {},
  ) {
    const at = where.endpoint ? `cluster "${where.cluster}" endpoint ${where.endpoint}` : `cluster "${where.cluster}"`;
    super(code, `${message} (${at})`, { status, cause: options.cause });
    this.cluster = where.cluster;
    this.endpoint = where.endpoint;
    this.connectFailure = options.connectFailure ?? false;
  }
}

export class UpstreamConnectError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, cause?: unknown) {
    super('PORTICO_ERR_UPSTREAM_CONNECT', 502, `cannot connect: ${reason(cause)}`, where, {
      cause,
      connectFailure: true,
    });
  }
}

export class UpstreamResetError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, cause?: unknown) {
    super('PORTICO_ERR_UPSTREAM_RESET', 502, `connection reset: ${reason(cause)}`, where, { cause });
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, timeoutMs: number | undefined, what = 'response headers') {
    const within = timeoutMs === undefined ? 'in time' : `within ${timeoutMs} ms`;
    super('PORTICO_ERR_UPSTREAM_TIMEOUT', 504, `no ${what} ${within}`, where);
  }
}

export class UpstreamNoEndpointsError extends UpstreamError {
  constructor(where: UpstreamErrorWhere) {
    super('PORTICO_ERR_UPSTREAM_NO_ENDPOINTS', 503, 'no endpoint with a weight above 0', where);
  }
}

export class UpstreamClosedError extends UpstreamError {
  constructor(where: UpstreamErrorWhere) {
    super('PORTICO_ERR_UPSTREAM_CLOSED', 503, 'cluster is closed', where);
  }
}

/** The caller cancelled the call (CallHandle.abort()); the upstream request was cancelled. */
export class UpstreamAbortedError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, cause?: unknown) {
    super('PORTICO_ERR_UPSTREAM_ABORTED', 499, 'client aborted the request', where, { cause });
  }
}

/**
 * The client already has its share of the Service's requests in flight (`connectionPool.maxRequestsPerClient`).
 * 429: it is this client's concurrency, not the Service, that is over; never counted against an endpoint.
 */
export class UpstreamClientLimitError extends UpstreamError {
  readonly limit: number;
  constructor(where: UpstreamErrorWhere, limit: number) {
    super(
      'PORTICO_ERR_UPSTREAM_CLIENT_LIMIT',
      429,
      `too many requests in flight for one client (limit ${limit})`,
      where,
    );
    this.limit = limit;
  }
}

/**
 * The client's request body failed while it was being sent (client gone, body stream errored or cut by a limit).
 * The client's fault, never the endpoint's: status is the cause's own 4xx status (a body limit's 413) or 499.
 */
export class UpstreamClientBodyError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, cause: unknown) {
    const own = (cause as { status?: unknown } | null)?.status;
    const status = typeof own === 'number' && own >= 400 && own < 500 ? own : 499;
    super('PORTICO_ERR_UPSTREAM_CLIENT_BODY', status, `request body from the client failed: ${reason(cause)}`, where, {
      cause,
    });
  }
}

/** Retries were made and the last attempt failed too; `cause` is the last attempt's error, `status` its status. */
export class UpstreamAllFailedError extends UpstreamError {
  readonly attempts: number;
  constructor(where: UpstreamErrorWhere, attempts: number, last: UpstreamError) {
    super(
      'PORTICO_ERR_UPSTREAM_ALL_FAILED',
      last.status,
      `all ${attempts} attempts failed, last: ${last.message}`,
      where,
      {
        cause: last,
      },
    );
    this.attempts = attempts;
  }
}

/** Any other failure of an upstream request (a malformed response, an invalid request header). */
export class UpstreamRequestError extends UpstreamError {
  constructor(where: UpstreamErrorWhere, cause?: unknown) {
    super('PORTICO_ERR_UPSTREAM_REQUEST', 502, `upstream request failed: ${reason(cause)}`, where, { cause });
  }
}

/** A bad constructor option; names the option and the rule. Not sent to clients. */
export class UpstreamOptionError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_UPSTREAM_INVALID_OPTION', `option "${option}" ${rule}`, {
      status: 500,
      details: [{ path: option, message: rule }],
    });
  }
}

function reason(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
