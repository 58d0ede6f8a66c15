/**
 * Config propagation: time from put() on one bus to the listener call on another bus watching the same NATS.
 * Starts its own nats-server (testkit). Prints p50/p99 in ms over 200 sequential puts (after 20 warm-up puts);
 * there is no baseline for this path yet, so no ratios. Run: node bench/config/bus-propagation.ts
 */

import { type ConfigBus, type ConfigState, createMemoryBus, createNatsBus } from '@portico/bus';
import type { Service } from '@portico/config';
import { startNatsServer } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';

const PUTS = 200;
const WARMUP = 20;

function service(port: number): Service {
  return {
    apiVersion: 'portico.dev/v1',
    kind: 'Service',
    metadata: { name: 'bench' },
    spec: { endpoints: [{ address: '127.0.0.1', port }] },
  } as Service;
}

/** Sequential puts on `writer`; each resolves when `watcher`'s listener sees that put's port. */
async function measure(writer: ConfigBus, watcher: ConfigBus): Promise<number[]> {
  let want = -1;
  let arrived: (() => void) | undefined;
  const seen = (state: ConfigState) => {
    const port = state.get('Service').get('bench')?.spec.endpoints[0]?.port;
    if (port === want) arrived?.();
  };
  const handle = await watcher.watch(seen);
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + PUTS; i++) {
    want = 1000 + i;
    const done = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const t0 = performance.now();
    await writer.put(service(want));
    await done;
    if (i >= WARMUP) samples.push(performance.now() - t0);
  }
  handle.stop();
  return samples.sort((a, b) => a - b);
}

function summary(label: string, s: number[]): string {
  const q = (p: number) => percentile(s, p * 100).toFixed(2);
  const mean = (s.reduce((a, b) => a + b, 0) / s.length).toFixed(2);
  return `${label.padEnd(28)} n=${s.length} p50=${q(0.5)} ms p99=${q(0.99)} ms mean=${mean} ms max=${s.at(-1)!.toFixed(2)} ms`;
}

const ns = await startNatsServer();
try {
  const writer = await createNatsBus({ servers: ns.url, bucketPrefix: 'bench', name: 'bench-writer' });
  const watcher = await createNatsBus({ servers: ns.url, bucketPrefix: 'bench', name: 'bench-watcher' });
  const nats = await measure(writer, watcher);
  await writer.close();
  await watcher.close();

  // For scale: the same loop on the embedded bus (one process, no network).
  const mem = createMemoryBus();
  const local = await measure(mem, mem);
  await mem.close();

  process.stdout.write(`config propagation, put -> listener on another bus\n`);
  process.stdout.write(`${summary('nats (2 connections)', nats)}\n`);
  process.stdout.write(`${summary('memory (same bus)', local)}\n`);
} finally {
  await ns.stop();
}
