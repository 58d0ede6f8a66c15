/**
 * Errors of the HTTP <-> gRPC mapping. A client-facing error carries its HTTP status and, for a bad request,
 * details naming the field path (`body.items[2].count`, `query.page_size`, `path.name`) and the expected type.
 */
import { type ErrorDetail, PorticoError } from '@portico/errors';

/** One problem with a request: where, what, and the type the field takes. */
export interface BadRequestDetail extends ErrorDetail {
  path: string;
  /** The type the field takes, e.g. `int32`, `enum shop.v1.Color (name or number)`. */
  expected?: string;
}

/** 400: the HTTP request cannot become the method's input message. */
export class GrpcBadRequestError extends PorticoError {
  declare readonly details: BadRequestDetail[];

  constructor(method: string, details: BadRequestDetail[], cause?: unknown) {
    const first = details[0];
    const what = first ? `${first.path}: ${first.message}` : 'invalid request';
    super('PORTICO_ERR_GRPC_BAD_REQUEST', `bad request for ${method}: ${what}`, { status: 400, details, cause });
  }
}

/** 404: no method is bound to the request's path. */
export class GrpcRouteNotFoundError extends PorticoError {
  constructor(httpMethod: string, path: string) {
    super('PORTICO_ERR_GRPC_ROUTE_NOT_FOUND', `no gRPC method is bound to ${httpMethod} ${path}`, { status: 404 });
  }
}

/** 405: the path is bound, to other HTTP methods only. */
export class GrpcMethodNotAllowedError extends PorticoError {
  readonly allowed: string[];

  constructor(httpMethod: string, path: string, allowed: string[]) {
    super(
      'PORTICO_ERR_GRPC_METHOD_NOT_ALLOWED',
      `${path} does not take ${httpMethod}; it takes ${allowed.join(', ')}`,
      {
        status: 405,
        details: [{ path: 'method', message: `allowed: ${allowed.join(', ')}` }],
      },
    );
    this.allowed = allowed;
  }
}

/**
 * A `google.api.http` rule that cannot be used: a malformed option, a path template outside the grammar, or a
 * field path that the method's messages do not have. Names the method and the template.
 */
export class GrpcHttpRuleError extends PorticoError {
  readonly method: string | undefined;
  readonly template: string | undefined;

  constructor(reason: string, where: { method?: string; template?: string } = {}, cause?: unknown) {
    const at = [
      where.method && `method ${where.method}`,
      where.template !== undefined && `template "${where.template}"`,
    ]
      .filter(Boolean)
      .join(', ');
    super('PORTICO_ERR_GRPC_HTTP_RULE_INVALID', at ? `invalid google.api.http rule (${at}): ${reason}` : reason, {
      status: 500,
      cause,
    });
    this.method = where.method;
    this.template = where.template;
  }
}
