import { type ErrorDetail, PorticoError } from '@portico/errors';

export class ConfigInvalidError extends PorticoError {
  constructor(details: ErrorDetail[], message = 'invalid config') {
    super('PORTICO_ERR_CONFIG_INVALID', `${message}: ${details.map(formatDetail).join('; ')}`, {
      status: 400,
      details,
    });
  }
}

export class ConfigParseError extends PorticoError {
  constructor(details: ErrorDetail[], cause?: unknown) {
    super('PORTICO_ERR_CONFIG_PARSE', `cannot parse config: ${details.map(formatDetail).join('; ')}`, {
      status: 400,
      details,
      cause,
    });
  }
}

export function formatDetail(d: ErrorDetail): string {
  const where = [d.document, d.path].filter(Boolean).join(' ');
  return where ? `${where}: ${d.message}` : d.message;
}
