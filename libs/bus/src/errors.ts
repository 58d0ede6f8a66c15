import { PorticoError } from '@portico/errors';

/** NATS cannot be reached (not connected, request timed out, JetStream not answering). */
export class BusUnavailableError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_BUS_UNAVAILABLE', message, { status: 503, cause });
  }
}

/** The bus was closed; no further calls are accepted. */
export class BusClosedError extends PorticoError {
  constructor() {
    super('PORTICO_ERR_BUS_CLOSED', 'config bus is closed', { status: 503 });
  }
}

/** A write kept losing the compare-and-set race against other writers. */
export class BusConflictError extends PorticoError {
  constructor(kind: string, name: string, cause?: unknown) {
    super('PORTICO_ERR_BUS_CONFLICT', `${kind} "${name}" changed concurrently; retry the write`, {
      status: 409,
      cause,
    });
  }
}

/** The store rejected an operation for a reason other than reachability (e.g. a value over the size limit). */
export class BusStoreError extends PorticoError {
  constructor(message: string, cause?: unknown) {
    super('PORTICO_ERR_BUS_STORE', message, { status: 500, cause });
  }
}

/** A factory option broke a rule; names the option and the rule. */
export class BusOptionsError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_BUS_OPTIONS', `bus option "${option}" ${rule}`, {
      status: 500,
      details: [{ path: option, message: rule }],
    });
  }
}

/** A replica (a proxy worker) is fed by its primary and takes no writes. */
export class BusReadOnlyError extends PorticoError {
  constructor() {
    super(
      'PORTICO_ERR_BUS_READ_ONLY',
      'this bus is a read-only replica: write through the primary (admin API or NATS)',
      {
        status: 405,
      },
    );
  }
}
