import { PorticoError } from '@portico/errors';

/** A service of a list failed to start; `service` names it and `cause` is what it threw. */
export class ServiceStartError extends PorticoError {
  readonly service: string;
  constructor(service: string, cause: unknown) {
    super('PORTICO_ERR_RUNTIME_START', `${service} could not start: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.service = service;
  }
}
