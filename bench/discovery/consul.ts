/**
 * Consul source: time from a registry write (PUT to the agent API) to the sink's update() carrying it, p50/p99.
 * Runs against the Consul stand-in (@portico/testkit; no Consul agent can be obtained here), so the figure is the
 * source's own path (blocking query wake-up, parse, diff) plus loopback HTTP, not a real Consul cluster's commit.
 * Two cadences, 50 changes each (after 5 warm-up changes):
 * - spaced: one change every 300 ms (a registry in normal operation);
 * - back-to-back: the next change as soon as the previous one is seen (churn: the blocking loop's token bucket,
 *   burst 4 then one read per 250 ms, paces the reads, so this shows its cost).
 * Changes alternate between a weight change (re-registration) and a TTL check flip. Run: node bench/discovery/consul.ts
 */
import { RegistrySpec } from '@portico/config';
import { BUILTIN_SOURCES, type DiscoveredService, type SourceSink, type SpecOf } from '@portico/discovery';
import { startConsulStandIn } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';

const CHANGES = 50;
const WARMUP = 5;
const SPACING_MS = 300;

const consul = await startConsulStandIn();
const put = async (path: string, body?: unknown) => {
  const res = await fetch(`${consul.url}${path}`, {
    method: 'PUT',
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
};
const registerWeight = (passing: number) =>
  put('/v1/agent/service/register', {
    ID: 'bench-1',
    Name: 'bench',
    Address: '127.0.0.1',
    Port: 8080,
    Weights: { Passing: passing, Warning: 1 },
    Check: { TTL: '10m', Status: 'passing' },
  });
await registerWeight(1);

let waiting: { check: (s: DiscoveredService) => boolean; done: () => void } | undefined;
const sink: SourceSink = {
  snapshot() {},
  update(service) {
    if (service.name === 'bench' && waiting?.check(service)) waiting.done();
  },
  remove() {},
  down(err) {
    throw err;
  },
  skipped() {},
};
const spec = RegistrySpec.parse({ type: 'consul', addresses: [consul.address], wait: '30s' }) as SpecOf<'consul'>;
const source = BUILTIN_SOURCES.consul({ name: 'bench', spec, sink });
await source.start();

let weight = 1;
let healthy = true;
/** One change; resolves with ms from just before the write to the update() that shows it. */
async function change(i: number): Promise<number> {
  let check: (s: DiscoveredService) => boolean;
  let write: () => Promise<void>;
  if (i % 2 === 0) {
    weight = weight === 1 ? 2 : 1;
    const want = weight * 100;
    check = (s) => s.endpoints[0]?.weight === want;
    write = () => registerWeight(weight);
  } else {
    healthy = !healthy;
    const want = healthy;
    check = (s) => s.endpoints[0]?.healthy === want;
    write = () => put(`/v1/agent/check/${want ? 'pass' : 'fail'}/service:bench-1`);
  }
  const seen = new Promise<number>((resolve) => {
    const started = performance.now();
    waiting = { check, done: () => resolve(performance.now() - started) };
  });
  await write();
  const ms = await seen;
  waiting = undefined;
  return ms;
}

async function run(spacingMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + CHANGES; i++) {
    const ms = await change(i);
    if (i >= WARMUP) out.push(ms);
    if (spacingMs > 0) await new Promise((r) => setTimeout(r, spacingMs));
  }
  return out;
}

const spaced = await run(SPACING_MS);
const churn = await run(0);
await source.stop();
await consul.stop();

const f = (n: number) => n.toFixed(1).padStart(8);
process.stdout.write(`consul source: registry write -> sink.update(), ${CHANGES} changes each (stand-in agent)\n`);
process.stdout.write('                                 p50 ms   p99 ms   max ms\n');
for (const [label, v] of [
  [`spaced (${SPACING_MS} ms apart)      `, spaced],
  ['back-to-back (token bucket)   ', churn],
] as const)
  process.stdout.write(`${label}  ${f(percentile(v, 50))} ${f(percentile(v, 99))} ${f(Math.max(...v))}\n`);
