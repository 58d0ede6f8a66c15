import { type ErrorDetail, PorticoError } from '@portico/errors';

/** Bad flags or arguments: the message says which and how to fix it; exit code 2. */
export class CliUsageError extends PorticoError {
  constructor(message: string) {
    super('PORTICO_ERR_CLI_USAGE', message, { status: 400 });
  }
}

/** A file could not be read. */
export class CliFileError extends PorticoError {
  constructor(file: string, cause: unknown) {
    super('PORTICO_ERR_CLI_FILE', `cannot read ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The admin API answered with an error or could not be reached. */
export class CliServerError extends PorticoError {
  constructor(message: string, options: { status?: number; details?: ErrorDetail[]; cause?: unknown } = {}) {
    super('PORTICO_ERR_CLI_SERVER', message, options);
  }
}

/** The config given at start is invalid (each error was printed already); exit code 1. */
export class CliConfigError extends PorticoError {
  constructor(message: string) {
    super('PORTICO_ERR_CLI_CONFIG', message, { status: 400 });
  }
}

/** Which listener a bind failure belongs to, and the flags that move it. */
export interface ListenerName {
  name: 'proxy' | 'tls' | 'admin';
  portFlag: string;
  hostFlag: string;
}

/** The fields of a failed bind that the message needs (they also cross the IPC channel from a proxy worker). */
export interface BindFailure {
  code?: string | undefined;
  syscall?: string | undefined;
  port?: number | undefined;
  address?: string | undefined;
  hostname?: string | undefined;
}

/**
 * A listener could not bind: its port is in use or privileged, or its address is not on this machine. The
 * message is the one line a user needs (what, which listener, which flag to change); exit code 1.
 */
export class CliListenError extends PorticoError {
  constructor(failure: BindFailure, listener: ListenerName, cause?: unknown) {
    const fix = `(${listener.name}); choose another with`;
    const message =
      failure.code === 'EADDRINUSE'
        ? `port ${failure.port} is in use ${fix} ${listener.portFlag}`
        : failure.code === 'EACCES'
          ? `port ${failure.port} needs privileges ${fix} ${listener.portFlag}`
          : failure.code === 'EADDRNOTAVAIL'
            ? `address ${failure.address} is not on this machine ${fix} ${listener.hostFlag}`
            : `address ${failure.hostname} does not resolve ${fix} ${listener.hostFlag}`;
    super('PORTICO_ERR_CLI_LISTEN', message, { cause: cause ?? failure });
  }

  /** The bind failures this error explains; anything else is unexpected and keeps its stack. */
  static explains(err: unknown): err is BindFailure {
    const e = err as BindFailure | undefined;
    if (e?.syscall === 'getaddrinfo') return e.code === 'ENOTFOUND';
    return e?.syscall === 'listen' && (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL');
  }
}
