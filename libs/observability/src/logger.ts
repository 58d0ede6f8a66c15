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

/**
 * Resolves once every line logged so far has been written. pino writes stdout asynchronously and its flush()
 * returns at once while a write is still in flight, so a CLI that prints an error as its last line waits here.
 */
export function flushLogger(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { _writing?: boolean; once(event: 'drain', listener: () => void): unknown }
    | undefined;
  if (stream?._writing !== true) return Promise.resolve();
  return new Promise((resolve) => {
    // Bounded: a destination that never drains (a blocked pipe) must not hold the caller's exit.
    const timer = setTimeout(resolve, 1000);
    stream.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
