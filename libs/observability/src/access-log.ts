/**
 * The access log line, written straight to the logger's destination: the same JSON line pino would write for
 * `logger.info(record)` (level, time, the logger's bindings, then the record's fields in order), built from a
 * fixed template instead of pino's generic serializer. One line per request makes it the logger's hottest call;
 * the template costs about a quarter of `logger.info` (bench/proxy/README.md).
 */
import { pino } from 'pino';
import type { Logger } from './logger.ts';

export interface AccessRecord {
  requestId: string | undefined;
  method: string | undefined;
  host: string | string[] | undefined;
  path: string | undefined;
  status: number;
  ms: number;
  route: string;
  backend: string;
  client: string;
  ua: string | undefined;
  /** Only for Upgrade handshakes. */
  upgrade?: string | undefined;
}

export type AccessLogWriter = (record: AccessRecord) => void;

interface PinoInternals {
  [key: symbol]: unknown;
}

const json = JSON.stringify;

/** `,"key":value` for a string field, nothing when it is undefined (as pino leaves undefined out). */
function field(key: string, value: string | string[] | undefined): string {
  return value === undefined ? '' : `,"${key}":${json(value)}`;
}

/** A writer for `logger`'s access lines, or undefined when its level drops `info` (decide once, not per request). */
export function accessLogWriter(logger: Logger): AccessLogWriter | undefined {
  if (!logger.isLevelEnabled('info')) return undefined;
  const internals = logger as unknown as PinoInternals;
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown };
  const time = internals[pino.symbols.timeSym] as () => string;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const level = logger.levels.values.info;
  const head = `{"level":${level}`;
  return (r) => {
    stream.write(
      `${head}${time()}${bindings},"msg":"access"${field('requestId', r.requestId)}${field('method', r.method)}${field('host', r.host)}${field('path', r.path)},"status":${r.status},"ms":${r.ms},"route":${json(r.route)},"backend":${json(r.backend)},"client":${json(r.client)}${field('ua', r.ua)}${field('upgrade', r.upgrade)}}\n`,
    );
  };
}
