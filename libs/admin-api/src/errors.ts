import { type ErrorDetail, PorticoError } from '@portico/errors';

export class AdminNotFoundError extends PorticoError {
  constructor(message: string) {
    super('PORTICO_ERR_ADMIN_NOT_FOUND', message, { status: 404 });
  }
}

export class AdminMethodNotAllowedError extends PorticoError {
  readonly allow: readonly string[];
  constructor(method: string, path: string, allow: readonly string[]) {
    super('PORTICO_ERR_ADMIN_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allow.join(', ')}`, {
      status: 405,
    });
    this.allow = allow;
  }
}

export class AdminBodyTooLargeError extends PorticoError {
  constructor(limit: number) {
    super('PORTICO_ERR_ADMIN_BODY_TOO_LARGE', `request body is over the ${limit} byte limit`, { status: 413 });
  }
}

/** The request is well formed HTTP but says something the URL or the API contradicts. */
export class AdminBadRequestError extends PorticoError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('PORTICO_ERR_ADMIN_BAD_REQUEST', message, { status: 400, details });
  }
}

export class AdminAlreadyExistsError extends PorticoError {
  constructor(kind: string, name: string) {
    super('PORTICO_ERR_ADMIN_ALREADY_EXISTS', `${kind} "${name}" already exists; use PUT to change it`, {
      status: 409,
    });
  }
}

/** Anything unexpected: the client learns only that it failed; the log has the cause. */
export class AdminInternalError extends PorticoError {
  constructor(cause: unknown) {
    super('PORTICO_ERR_ADMIN_INTERNAL', 'internal error in the admin API', { status: 500, cause });
  }
}

export class AdminOptionsError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_ADMIN_OPTIONS', `admin API option "${option}" ${rule}`, {
      details: [{ path: option, message: rule }],
    });
  }
}

/** A request-target the admin API will not interpret: refused, never normalised. */
export class AdminBadTargetError extends PorticoError {
  constructor(rule: string) {
    super('PORTICO_ERR_ADMIN_BAD_TARGET', `bad request-target: ${rule}`, {
      status: 400,
      details: [{ path: 'request-target', message: rule }],
    });
  }
}

/** A write whose body type a browser could send cross-site without a preflight (or no type at all). */
export class AdminUnsupportedMediaTypeError extends PorticoError {
  constructor(got: string | undefined, accepted: readonly string[]) {
    const rule = `must be one of ${accepted.join(', ')}`;
    super(
      'PORTICO_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE',
      `${got === undefined ? 'a write needs a content-type' : `content-type "${got}" is not accepted`}; ${rule}`,
      { status: 415, details: [{ path: 'content-type', message: rule }] },
    );
  }
}

/** A request sent by a page of another origin (CSRF) or a DNS-rebinding page. */
export class AdminForbiddenOriginError extends PorticoError {
  constructor(header: string, value: string) {
    super('PORTICO_ERR_ADMIN_FORBIDDEN_ORIGIN', `${header} "${value}" is not this admin API's origin`, {
      status: 403,
      details: [{ path: header, message: 'must be absent or one of the admin API own origins' }],
    });
  }
}

/** A Host this listener does not serve (DNS rebinding): 421, the request went to the wrong server. */
export class AdminMisdirectedError extends PorticoError {
  constructor(host: string | undefined, rule: string) {
    super(
      'PORTICO_ERR_ADMIN_MISDIRECTED',
      host === undefined ? 'the request has no Host' : `host "${host}" is not served here`,
      { status: 421, details: [{ path: 'host', message: rule }] },
    );
  }
}

/** A request that came through a proxy: Portico's own (Via), or any (forwarding headers) unless allowed. */
export class AdminProxiedError extends PorticoError {
  constructor(header: string, rule: string) {
    super('PORTICO_ERR_ADMIN_PROXIED', `the admin API does not answer proxied requests (${header})`, {
      status: 403,
      details: [{ path: header, message: rule }],
    });
  }
}

/** What Node's HTTP parser refused before the API saw a request: the status it implies, as JSON. */
export class AdminMalformedRequestError extends PorticoError {
  constructor(status: 400 | 408 | 431, message: string) {
    const code = {
      400: 'PORTICO_ERR_ADMIN_MALFORMED_REQUEST',
      408: 'PORTICO_ERR_ADMIN_REQUEST_TIMEOUT',
      431: 'PORTICO_ERR_ADMIN_HEADERS_TOO_LARGE',
    }[status];
    super(code, message, { status });
  }
}
