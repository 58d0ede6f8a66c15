import { PorticoError } from '@portico/errors';

/** No Consul address of the Registry answered a full listing (each was tried in turn). */
export class ConsulUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_CONSUL_UNAVAILABLE', message, { status: 503, cause });
  }
}

/** Consul answered, but not as its API documents (no X-Consul-Index, a body of the wrong shape). */
export class ConsulResponseError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_CONSUL_RESPONSE', message, { status: 502, cause });
  }
}
