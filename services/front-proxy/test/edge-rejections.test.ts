import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { EDGE_REJECTION_REASONS, EdgeRejections } from '../src/edge-rejections.ts';

function setup(intervalMs: number) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  const metrics = new ProxyMetrics(createMetricsRegistry());
  return { lines, metrics, edge: new EdgeRejections(logger, metrics, intervalMs) };
}

async function count(metrics: ProxyMetrics, reason: string): Promise<number | undefined> {
  return (await metrics.edgeRejections.get()).values.find((v) => v.labels.reason === reason)?.value;
}

test('a flood logs one line per reason per window, then one line with the count of the rest', async () => {
  const { lines, metrics, edge } = setup(200);
  try {
    for (let i = 0; i < 50; i++) edge.reject('bad_request', { client: '192.0.2.1' });
    edge.reject('tls_handshake');
    assert.equal(lines.filter((l) => l.reason === 'bad_request').length, 1, 'one line, not fifty');
    assert.equal(lines.filter((l) => l.reason === 'tls_handshake').length, 1, 'each reason has its own window');
    assert.equal(lines[0]!.level, 40, 'at warn');
    assert.equal(await count(metrics, 'bad_request'), 50, 'every one is counted');
    // The summary comes when the window ends; wait for it rather than for a fixed time.
    const started = Date.now();
    while (lines.filter((l) => l.reason === 'bad_request').length < 2 && Date.now() - started < 3000)
      await new Promise((r) => setTimeout(r, 10));
    const summary = lines.filter((l) => l.reason === 'bad_request');
    assert.equal(summary.length, 2, 'a summary line at the end of the window');
    assert.equal(summary[1]!.suppressed, 49);
    // A new window: the next one is suppressed again, so a steady flood stays at one line per window.
    edge.reject('bad_request');
    assert.equal(lines.filter((l) => l.reason === 'bad_request').length, 2);
  } finally {
    edge.close();
  }
});

test('every reason is exported at 0 before the first rejection, and only fixed reasons exist', async () => {
  const { metrics, edge } = setup(1000);
  edge.close();
  for (const reason of EDGE_REJECTION_REASONS) assert.equal(await count(metrics, reason), 0, reason);
  assert.throws(() => setup(-1), /edgeLogIntervalMs/);
});
