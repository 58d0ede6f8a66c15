/** The Nacos source's errors (the lead may fold them into the discovery lib's errors.ts). */
import { PorticoError } from '@portico/errors';

/** No Nacos server of the Registry answered a call (each address was tried in turn); passed to sink.down(). */
export class NacosUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_NACOS_UNAVAILABLE', message, { status: 503, cause });
  }
}

/** A Nacos server answered with an HTTP error, refused the credentials, or sent something that is not Nacos JSON. */
export class NacosResponseError extends PorticoError {
  readonly httpStatus: number | undefined;
  constructor(message: string, httpStatus?: number, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_NACOS_RESPONSE', message, { status: 502, cause });
    this.httpStatus = httpStatus;
  }
}
