import { writeSync } from 'node:fs';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default info. */
  level?: string;
  /** Goes into every line as `name`. */
  name?: string;
  /** Where JSON lines go; default stdout, through the process's one FdLineBuffer. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export interface FdLineBufferOptions {
  /** The file descriptor written to (1 for stdout). */
  fd: number;
  /** A batch is written once it holds this many characters. Default 32 KiB. */
  flushChars?: number;
  /** No line waits longer than this before it is written. Default 100 ms. */
  flushDelayMs?: number;
}

const FLUSH_CHARS = 32 * 1024;
const FLUSH_DELAY_MS = 100;
/** How long a write waits before retrying when a non-blocking pipe is full. */
const EAGAIN_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Log lines kept in memory and written to a file descriptor in batches, each with one synchronous write: once a
 * batch holds `flushChars`, once its first line has waited `flushDelayMs`, on flushSync() and on process exit
 * (a normal end, process.exit(), an uncaught exception). A line is either in the file or in this buffer, never in
 * flight, so the exit handler writes every line. A SIGKILL loses at most `flushDelayMs` of lines.
 *
 * Why not pino's own destination (sonic-boom): without minLength it hands every line to the libuv thread pool
 * (about 20 µs of CPU per line on the proxy's core), and with minLength each write re-measures the growing batch
 * string, so a 16 KiB batch costs 4-10 µs per line where this one costs 0.5-1 µs (bench/proxy/README.md).
 */
export class FdLineBuffer implements DestinationStream {
  readonly fd: number;
  readonly #flushChars: number;
  readonly #flushDelayMs: number;
  #lines: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The reader went away (EPIPE): lines are dropped from then on. */
  #broken = false;
  readonly #reported = new Set<string>();
  readonly #onExit = (): void => this.flushSync();
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.flushSync();
  };

  constructor(options: FdLineBufferOptions) {
    const { fd, flushChars = FLUSH_CHARS, flushDelayMs = FLUSH_DELAY_MS } = options;
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`options.fd must be a file descriptor, got ${fd}`);
    if (!Number.isInteger(flushChars) || flushChars < 1)
      throw new TypeError(`options.flushChars must be a positive integer, got ${flushChars}`);
    if (!(flushDelayMs > 0)) throw new TypeError(`options.flushDelayMs must be above 0, got ${flushDelayMs}`);
    this.fd = fd;
    this.#flushChars = flushChars;
    this.#flushDelayMs = flushDelayMs;
    process.on('exit', this.#onExit);
  }

  /** Characters held, not yet written. */
  get pending(): number {
    return this.#chars;
  }

  write(line: string): void {
    if (this.#broken) return;
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#flushChars) this.flushSync();
    // Unref'd: a pending batch never keeps the process alive; the exit handler writes it.
    else this.#timer ??= setTimeout(this.#onTimer, this.#flushDelayMs).unref();
  }

  /** Writes everything held, synchronously. */
  flushSync(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#chars === 0) return;
    const data = Buffer.from(this.#lines.join(''), 'utf8');
    this.#lines = [];
    this.#chars = 0;
    this.#writeAll(data);
  }

  /** pino's logger.flush(cb). */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** Writes what is held and stops watching the process's exit; the descriptor stays open (it is the caller's). */
  close(): void {
    this.flushSync();
    process.off('exit', this.#onExit);
  }

  #writeAll(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      try {
        offset += writeSync(this.fd, data, offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
        // A full non-blocking pipe: wait for the reader, as a blocking stdout would.
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
          continue;
        }
        if (code === 'EPIPE') this.#broken = true;
        this.#report(code, err as Error);
        return;
      }
    }
  }

  /** A log line cannot report its own loss: stderr, once per error code. */
  #report(code: string, err: Error): void {
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    try {
      writeSync(2, `portico: cannot write log lines to fd ${this.fd} (${err.message}); lines are dropped\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
  }
}

/** Every default logger of the process shares one buffer: one exit handler, and lines stay in the order logged. */
let stdoutLines: FdLineBuffer | undefined;

function stdout(): FdLineBuffer {
  stdoutLines ??= new FdLineBuffer({ fd: 1 });
  return stdoutLines;
}

let isoMs = -1;
let isoField = '';

/**
 * pino's isoTime, formatted once per millisecond: at thousands of lines a second most lines share their
 * millisecond, and toISOString() is a third of a line's cost.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoField;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** JSON lines to stdout: access logs and events, one object per line, written in batches (see FdLineBuffer). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!LEVELS.has(level)) throw new TypeError(`options.level must be one of ${[...LEVELS].join(', ')}, got "${level}"`);
  const opts = {
    level,
    base: options.name === undefined ? { pid: process.pid } : { name: options.name, pid: process.pid },
    timestamp: isoTime,
  };
  return pino(opts, options.destination ?? stdout());
}

/**
 * Resolves once every line logged so far has been written. The default destination writes at once here; another
 * stream (a sonic-boom) may have a write in flight, which is waited for, so a CLI that prints an error as its last
 * line waits here.
 */
export function flushLogger(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (stream instanceof FdLineBuffer) {
    stream.flushSync();
    return Promise.resolve();
  }
  const boom = stream as { _writing?: boolean; once(event: 'drain', listener: () => void): unknown } | undefined;
  if (boom?._writing !== true) return Promise.resolve();
  return new Promise((resolve) => {
    // Bounded: a destination that never drains (a blocked pipe) must not hold the caller's exit.
    const timer = setTimeout(resolve, 1000);
    boom.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
