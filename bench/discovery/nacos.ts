/**
 * Nacos: time from a registry write (register / weight change / deregister over Nacos's v1 HTTP API) to the
 * source's sink.update (a UDP push), against a real Nacos server (testkit). Nacos batches pushes for
 * `nacos.naming.push.pushTaskDelay` ms (500 by default) before sending them; `--push-delay` sets it, so the figure
 * can be split into Nacos's batching and the rest. refreshInterval is long: every change must come by push.
 * Run: node bench/discovery/nacos.ts [--changes 50] [--push-delay 500]
 */
import { parseArgs } from 'node:util';
import { RegistrySpec } from '@portico/config';
import { BUILTIN_SOURCES, type SpecOf } from '@portico/discovery';
import { startNacos } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';
import { ViewSink } from '../lib/view-sink.ts';

const { values } = parseArgs({
  options: { changes: { type: 'string', default: '50' }, 'push-delay': { type: 'string', default: '500' } },
});
const changes = Number(values.changes);
const pushDelay = values['push-delay'];
const factory = BUILTIN_SOURCES.nacos;

const sink = new ViewSink();
const view = sink.view;
const until = (check: () => boolean) => sink.until(check);

const server = await startNacos({ properties: { 'nacos.naming.push.pushTaskDelay': pushDelay } });
async function instance(method: string, port: number, weight = 1): Promise<void> {
  const q = new URLSearchParams({ serviceName: 'bench', ip: '127.0.0.1', port: String(port), ephemeral: 'true' });
  if (method !== 'DELETE') {
    q.set('weight', String(weight));
    q.set(
      'metadata',
      JSON.stringify({ 'preserved.heart.beat.timeout': '600000', 'preserved.ip.delete.timeout': '600000' }),
    );
  }
  const res = await fetch(`${server.url}/v1/ns/instance?${q}`, { method });
  const text = await res.text();
  if (text !== 'ok') throw new Error(`${method} instance: HTTP ${res.status} ${text}`);
}

const name = 'bench.DEFAULT_GROUP.public';
const source = factory({
  name: 'bench',
  sink,
  spec: RegistrySpec.parse({ type: 'nacos', addresses: [server.address], refreshInterval: '10m' }) as SpecOf<'nacos'>,
});
try {
  await instance('POST', 20000);
  await source.start();
  await until(() => view.get(name)?.endpoints.length === 1);
  const before = sink.snapshots;
  const samples: number[] = [];
  for (let i = 1; i <= changes; i++) {
    const t0 = performance.now();
    const step = i % 3;
    if (step === 1) {
      await instance('POST', 20001);
      await until(() => view.get(name)?.endpoints.length === 2);
    } else if (step === 2) {
      await instance('PUT', 20000, i);
      await until(() => view.get(name)?.endpoints.find((e) => e.port === 20000)?.weight === i * 100);
    } else {
      await instance('DELETE', 20001);
      await until(() => view.get(name)?.endpoints.length === 1);
    }
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => percentile(samples, p * 100);
  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  process.stdout.write(
    `nacos write -> sink (UDP push), pushTaskDelay ${pushDelay} ms, n=${samples.length}: p50=${f(q(0.5))} p99=${f(q(0.99))} max=${f(samples.at(-1)!)}${sink.snapshots === before ? '' : ` (${sink.snapshots - before} re-lists during the run)`}\n`,
  );
} finally {
  await source.stop();
  await server.stop();
}
