import { PorticoError } from '@portico/errors';

/** A DNS Registry option the resolver can't use (names the option and the rule). */
export class DnsOptionsError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_DISCOVERY_DNS_OPTIONS', `dns registry option "${option}" ${rule}`, {
      status: 400,
      details: [{ path: option, message: rule }],
    });
  }
}

/** Every name of a DNS Registry failed to resolve (resolver down, timing out or refusing). */
export class DnsUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_DISCOVERY_DNS_UNAVAILABLE', message, { status: 503, cause });
  }
}
