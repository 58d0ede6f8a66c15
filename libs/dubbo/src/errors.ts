import { PorticoError } from '@portico/errors';

/** Base of every error this lib throws. `status` is the HTTP status a client of the transcoder gets. */
export class DubboError extends PorticoError {
  /** `host:port` of the provider, when the error is about one. */
  readonly endpoint: string | undefined;

  constructor(code: string, status: number, message: string, options: { endpoint?: string; cause?: unknown } = {}) {
    super(code, options.endpoint ? `${message} (dubbo provider ${options.endpoint})` : message, {
      status,
      cause: options.cause,
    });
    this.endpoint = options.endpoint;
  }
}

/** A frame body over the payload limit (Dubbo's `payload`, 8 MiB by default). 413 for a request, 502 for an answer. */
export class DubboPayloadTooLargeError extends DubboError {
  readonly size: number;
  readonly limit: number;
  constructor(direction: 'request' | 'response', size: number, limit: number, endpoint?: string) {
    super(
      'PORTICO_ERR_DUBBO_PAYLOAD_TOO_LARGE',
      direction === 'request' ? 413 : 502,
      `dubbo ${direction} body of ${size} bytes is over the payload limit of ${limit} bytes`,
      { endpoint },
    );
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes that are not a Dubbo frame (wrong magic, an unsupported serialization) or a body hessian cannot decode. */
export class DubboProtocolError extends DubboError {
  constructor(message: string, options: { endpoint?: string; cause?: unknown } = {}) {
    super('PORTICO_ERR_DUBBO_PROTOCOL', 502, message, options);
  }
}

/** No answer within the call's timeout (client side), or the provider reported a timeout (status 30/31). */
export class DubboTimeoutError extends DubboError {
  constructor(message: string, endpoint?: string) {
    super('PORTICO_ERR_DUBBO_TIMEOUT', 504, message, { endpoint });
  }
}

/** The method threw: `javaClass` and `javaMessage` are the Java exception's. */
export class DubboServiceExceptionError extends DubboError {
  readonly javaClass: string;
  readonly javaMessage: string;
  constructor(javaClass: string, javaMessage: string, endpoint?: string) {
    super('PORTICO_ERR_DUBBO_EXCEPTION', 500, `${javaClass}: ${javaMessage}`, { endpoint });
    this.javaClass = javaClass;
    this.javaMessage = javaMessage;
    this.details.push({ path: 'exception', message: `${javaClass}: ${javaMessage}` });
  }
}

/**
 * The provider answered with a status other than OK (Dubbo's Response status byte) and an error message.
 * `dubboStatus` is that byte; the HTTP status follows from it (see `httpStatusOfDubboStatus`).
 */
export class DubboStatusError extends DubboError {
  readonly dubboStatus: number;
  constructor(code: string, status: number, dubboStatus: number, message: string, endpoint?: string) {
    super(code, status, message, { endpoint });
    this.dubboStatus = dubboStatus;
  }
}

/** A TCP connection to the provider could not be opened (refused, unreachable, connect timeout, in backoff). */
export class DubboConnectError extends DubboError {
  constructor(endpoint: string, cause: unknown) {
    super('PORTICO_ERR_DUBBO_CONNECT', 503, `cannot connect: ${reason(cause)}`, { endpoint, cause });
  }
}

/** The connection went away while the call was in flight (provider stopped, socket reset, heartbeats missed). */
export class DubboConnectionClosedError extends DubboError {
  constructor(endpoint: string, why: string, cause?: unknown) {
    super('PORTICO_ERR_DUBBO_CONNECTION_CLOSED', 502, `connection closed with the call in flight: ${why}`, {
      endpoint,
      cause,
    });
  }
}

/** The client was closed: no new calls. */
export class DubboClientClosedError extends DubboError {
  constructor() {
    super('PORTICO_ERR_DUBBO_CLIENT_CLOSED', 503, 'the dubbo client is closed');
  }
}

/** A JSON argument that does not fit its Java parameter type; `details` name the path and the expected type. */
export class DubboArgumentError extends DubboError {
  readonly path: string;
  readonly expected: string;
  constructor(path: string, expected: string, got: string) {
    super('PORTICO_ERR_DUBBO_ARGUMENT', 400, `${path}: expected ${expected}, got ${got}`);
    this.path = path;
    this.expected = expected;
    this.details.push({ path, message: `expected ${expected}, got ${got}` });
  }
}

/** A bad option of the client or a call; names the option and the rule. Not sent to clients. */
export class DubboOptionError extends DubboError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_DUBBO_INVALID_OPTION', 500, `option "${option}" ${rule}`);
    this.details.push({ path: option, message: rule });
  }
}

function reason(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
