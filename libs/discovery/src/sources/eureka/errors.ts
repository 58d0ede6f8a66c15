import { PorticoError } from '@portico/errors';

/** No Eureka server of the Registry answered a fetch (each address was tried in turn). */
export class EurekaUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_EUREKA_UNAVAILABLE', message, { status: 503, cause });
  }
}

/** A Eureka server answered with an HTTP error or with something that is not an applications document. */
export class EurekaResponseError extends PorticoError {
  readonly httpStatus: number | undefined;
  constructor(message: string, httpStatus?: number, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_EUREKA_RESPONSE', message, { status: 502, cause });
    this.httpStatus = httpStatus;
  }
}
