import { Writable } from 'node:stream';
import { after } from 'node:test';
import { createLogger, ProxyMetrics, Registry } from '@portico/observability';
import { subscribeDiagnostics } from '../src/index.ts';

export type LogLine = Record<string, unknown> & { level: number; msg: string; event?: string };

/** A logger whose JSON lines are kept, fresh metrics, and diagnostics subscribed until the file's tests end. */
export function subscribed() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination: stream });
  const registry = new Registry();
  const metrics = new ProxyMetrics(registry);
  const unsubscribe = subscribeDiagnostics({ logger, metrics });
  after(unsubscribe);
  /** The value of the series that starts with `series` (name and labels), or undefined when it is not there. */
  const value = async (series: string): Promise<number | undefined> => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  return { lines, logger, metrics, registry, unsubscribe, value };
}
