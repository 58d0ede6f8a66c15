/**
 * The one base error. Every lib subclasses it with a stable `code`
 * (PORTICO_ERR_<AREA>_<REASON>) and, where it reaches a client, an HTTP status.
 */
export interface ErrorDetail {
  /** Where: a field path (`spec.rules[0].matches[1].path.value`), a header or a parameter. */
  path?: string;
  /** What was wrong, in words a user can act on. */
  message: string;
  /** Which document of a multi-document file, when known. */
  document?: string;
}

export interface PorticoErrorOptions {
  status?: number;
  details?: ErrorDetail[];
  cause?: unknown;
}

export class PorticoError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetail[];

  constructor(code: string, message: string, options: PorticoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.details = options.details ?? [];
  }

  /** The JSON body a client gets: what and where, never a stack. */
  toJSON(): { error: { code: string; message: string; details?: ErrorDetail[] } } {
    const error: { code: string; message: string; details?: ErrorDetail[] } = {
      code: this.code,
      message: this.message,
    };
    if (this.details.length > 0) error.details = this.details;
    return { error };
  }
}

export function isPorticoError(err: unknown): err is PorticoError {
  return err instanceof PorticoError;
}
