import { PorticoError } from '@portico/errors';

/**
 * Server reflection failed: the backend at `address` could not be reached, does not serve reflection, timed out,
 * or answered with descriptors that do not form a complete set. 502: the backend, not the client, is at fault.
 */
export class GrpcReflectionError extends PorticoError {
  /** `host:port` that was asked. */
  readonly address: string;
  /** The gRPC status code of the failed reflection call, when it failed with one. */
  readonly grpcCode: number | undefined;

  constructor(address: string, what: string, options: { grpcCode?: number; cause?: unknown } = {}) {
    super('PORTICO_ERR_GRPC_REFLECTION', `gRPC server reflection at ${address}: ${what}`, {
      status: 502,
      cause: options.cause,
    });
    this.address = address;
    this.grpcCode = options.grpcCode;
  }
}

/** A FileDescriptorSet that cannot be decoded or does not form a complete set (a dependency is missing). */
export class GrpcDescriptorSetError extends PorticoError {
  constructor(what: string, cause?: unknown) {
    super('PORTICO_ERR_GRPC_DESCRIPTOR_SET', `invalid FileDescriptorSet: ${what}`, { status: 500, cause });
  }
}

/** A bad option given to a descriptor loader; names the option and the rule. Not sent to clients. */
export class GrpcDescriptorOptionError extends PorticoError {
  constructor(option: string, rule: string) {
    super('PORTICO_ERR_GRPC_INVALID_OPTION', `option "${option}" ${rule}`, {
      status: 500,
      details: [{ path: option, message: rule }],
    });
  }
}
