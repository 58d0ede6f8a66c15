import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default info. */
  level?: string;
  /** Goes into every line as `name`. */
  name?: string;
  /** Where JSON lines go; default stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** JSON lines to stdout: access logs and events, one object per line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!LEVELS.has(level)) throw new TypeError(`options.level must be one of ${[...LEVELS].join(', ')}, got "${level}"`);
  const opts = {
    level,
    base: options.name === undefined ? { pid: process.pid } : { name: options.name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
