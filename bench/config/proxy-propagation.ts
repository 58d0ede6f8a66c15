/**
 * Config propagation to the data plane: time from a Route written to NATS (by another process's bus, as
 * `portico apply --nats` does) to the front proxy answering by it. The proxy (`portico front-proxy --nats`) and a
 * backend run as real processes; a client polls the proxy until the new generation's response header shows.
 * Baseline in the same run: the same write seen by a second bus's listener (NATS alone, no proxy), so the ratio
 * says what the proxy's compile-and-swap adds. Target: p99 under 100 ms, with 1,000 routes loaded.
 * Run: node bench/config/proxy-propagation.ts [--changes 100]
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { type ConfigState, createNatsBus } from '@portico/bus';
import type { Resource } from '@portico/config';
import { startEchoBackend, startNatsServer, startPortico } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';

const { values } = parseArgs({
  options: { changes: { type: 'string', default: '100' }, routes: { type: 'string', default: '1000' } },
});
const CHANGES = Number(values.changes);
const ROUTES = Number(values.routes);

const route = (name: string, generation: number, host: string): Resource =>
  ({
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name },
    spec: {
      hostnames: [host],
      rules: [
        {
          filters: [
            {
              type: 'ResponseHeaderModifier',
              responseHeaderModifier: { set: [{ name: 'x-generation', value: String(generation) }] },
            },
          ],
          backendRefs: [{ name: 'echo' }],
        },
      ],
    },
  }) as Resource;

function generationOf(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host: 'bench.local' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-generation'] ?? '')));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function quantiles(samples: number[]): { p50: number; p99: number; max: number } {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: percentile(samples, 100) };
}

const nats = await startNatsServer();
const echo = await startEchoBackend('echo');
const writer = await createNatsBus({ servers: nats.url, name: 'bench-writer' });
await writer.put({
  apiVersion: 'portico.dev/v1',
  kind: 'Service',
  metadata: { name: 'echo' },
  spec: { endpoints: [{ address: '127.0.0.1', port: echo.port }] },
} as Resource);
for (let i = 0; i < ROUTES; i++) await writer.put(route(`filler-${i}`, 0, `filler-${i}.bench.local`));
await writer.put(route('bench', 0, 'bench.local'));
const portico = await startPortico({ command: 'front-proxy', args: ['--nats', nats.url, '--log-level', 'warn'] });

try {
  // Baseline: the same writes, seen by a second bus (what NATS alone costs).
  const watcher = await createNatsBus({ servers: nats.url, name: 'bench-watcher' });
  let want = '';
  let seen: (() => void) | undefined;
  const handle = await watcher.watch((state: ConfigState) => {
    const g = state.get('Route').get('bench')?.spec.rules[0]?.filters?.[0];
    if (g?.type === 'ResponseHeaderModifier' && g.responseHeaderModifier.set?.[0]?.value === want) seen?.();
  });
  const busSamples: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    want = String(100_000 + i);
    const arrived = new Promise<void>((resolve) => {
      seen = resolve;
    });
    const t0 = performance.now();
    await writer.put(route('bench', 100_000 + i, 'bench.local'));
    await arrived;
    busSamples.push(performance.now() - t0);
  }
  handle.stop();
  await watcher.close();

  // The proxy: poll until it answers with the new generation.
  const proxySamples: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    const t0 = performance.now();
    await writer.put(route('bench', i, 'bench.local'));
    while ((await generationOf(portico.proxyPort)) !== String(i)) {
      if (performance.now() - t0 > 5_000) throw new Error(`change ${i} not live after 5 s`);
    }
    proxySamples.push(performance.now() - t0);
  }

  const bus = quantiles(busSamples);
  const proxy = quantiles(proxySamples);
  const f = (n: number) => n.toFixed(2).padStart(8);
  process.stdout.write(
    `config propagation: ${CHANGES} changes, ${ROUTES + 1} routes loaded, nats-server ${nats.url}\n`,
  );
  process.stdout.write(`                          p50 ms   p99 ms   max ms\n`);
  process.stdout.write(`NATS bus -> bus      ${f(bus.p50)} ${f(bus.p99)} ${f(bus.max)}   (baseline)\n`);
  process.stdout.write(
    `NATS -> proxy live   ${f(proxy.p50)} ${f(proxy.p99)} ${f(proxy.max)}   (x${(proxy.p50 / bus.p50).toFixed(1)} of the baseline at p50)\n`,
  );
  process.stdout.write(
    `${proxy.p99 < 100 ? 'PASS' : 'FAIL'}  p99 to live ${proxy.p99.toFixed(1)} ms (target < 100 ms)\n`,
  );
} finally {
  await portico.stop();
  await writer.close();
  await echo.close();
  await nats.stop();
}
