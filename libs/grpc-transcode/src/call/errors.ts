/**
 * Errors of the gRPC call layer. Each has a stable code and the HTTP status a client gets; `details[].path` names
 * the header, option or NDJSON line that was wrong.
 */
import { PorticoError } from '@portico/errors';

/** A `grpc-timeout` request header that is not 1 to 8 digits and a unit (H M S m u n). */
export class GrpcTimeoutHeaderError extends PorticoError {
  constructor(value: string) {
    super('PORTICO_ERR_GRPC_TIMEOUT_HEADER', `invalid grpc-timeout "${value}"`, {
      status: 400,
      details: [{ path: 'grpc-timeout', message: 'expected 1 to 8 digits followed by one of H, M, S, m, u, n' }],
    });
  }
}

/** A request header chosen for gRPC metadata whose name or value gRPC cannot carry. */
export class GrpcMetadataHeaderError extends PorticoError {
  constructor(header: string, rule: string) {
    super('PORTICO_ERR_GRPC_METADATA_HEADER', `header "${header}" cannot be sent as gRPC metadata: ${rule}`, {
      status: 400,
      details: [{ path: header, message: rule }],
    });
  }
}

/** A line of an NDJSON request body (client streaming) that is not one JSON value. */
export class NdjsonLineError extends PorticoError {
  readonly line: number;
  constructor(line: number, reason: string, cause?: unknown) {
    super('PORTICO_ERR_GRPC_NDJSON_LINE', `request body line ${line} is not valid JSON: ${reason}`, {
      status: 400,
      details: [{ path: `line ${line}`, message: reason }],
      cause,
    });
    this.line = line;
  }
}

/** A line of an NDJSON request body longer than the limit. */
export class NdjsonLineTooLongError extends PorticoError {
  readonly line: number;
  constructor(line: number, limitBytes: number) {
    super('PORTICO_ERR_GRPC_NDJSON_LINE_TOO_LONG', `request body line ${line} is longer than ${limitBytes} bytes`, {
      status: 413,
      details: [{ path: `line ${line}`, message: `at most ${limitBytes} bytes per line` }],
    });
    this.line = line;
  }
}

/** A bad option or argument given to the call layer by its caller; never sent to clients. */
export class GrpcCallOptionError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_GRPC_INVALID_OPTION', `option "${option}" ${rule}`, {
      status: 500,
      details: [{ path: option, message: rule }],
    });
  }
}

/** A call started on GrpcChannels after close(). */
export class GrpcChannelsClosedError extends PorticoError {
  constructor() {
    super('PORTICO_ERR_GRPC_CHANNELS_CLOSED', 'the gRPC channels are closed', { status: 503 });
  }
}
