import { type ErrorDetail, PorticoError } from '@portico/errors';

/**
 * A route the matcher cannot compile (in practice a regular expression that config validation let through).
 * The data plane keeps its last good table when this is thrown, so it never reaches a client as a 5xx.
 */
export class RouteCompileError extends PorticoError {
  constructor(details: ErrorDetail[], cause?: unknown) {
    super(
      'PORTICO_ERR_ROUTER_INVALID_ROUTE',
      `cannot compile routes: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      { status: 500, details, cause },
    );
  }
}
