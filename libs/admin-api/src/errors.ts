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
