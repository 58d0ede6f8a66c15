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
