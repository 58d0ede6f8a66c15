/**
 * Eureka: time from a registry write (register / weight change / deregister over Eureka's REST API) to the
 * source's sink call, against a real Eureka server (testkit). Each write waits a random part of the delta interval
 * first, so writes don't lock onto the poll phase. Prints p50/p99/max in ms and as a fraction of the interval.
 * Run: node bench/discovery/eureka.ts [--delta 1s] [--changes 50]
 */
import { parseArgs } from 'node:util';
import { durationMs, RegistrySpec } from '@portico/config';
import { BUILTIN_SOURCES, type SpecOf } from '@portico/discovery';
import { startEurekaServer } from '@portico/testkit';
import { percentile } from '../lib/stats.ts';
import { ViewSink } from '../lib/view-sink.ts';

const { values } = parseArgs({
  options: { delta: { type: 'string', default: '1s' }, changes: { type: 'string', default: '50' } },
});
const delta = values.delta;
const changes = Number(values.changes);
const factory = BUILTIN_SOURCES.eureka;

const sink = new ViewSink();
const view = sink.view;
const until = (check: () => boolean) => sink.until(check);

async function call(url: string, method: string, body?: unknown): Promise<void> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status}`);
}

function instance(id: string, port: number, weight: number) {
  return {
    instance: {
      instanceId: id,
      hostName: '127.0.0.1',
      app: 'BENCH',
      ipAddr: '127.0.0.1',
      status: 'UP',
      port: { $: port, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 600 },
      vipAddress: 'bench',
      metadata: { weight: String(weight) },
    },
  };
}

const server = await startEurekaServer();
const base = server.url.replace(/\/+$/, '');
const source = factory({
  name: 'bench',
  sink,
  spec: RegistrySpec.parse({ type: 'eureka', addresses: [server.url], deltaInterval: delta }) as SpecOf<'eureka'>,
});
try {
  await call(`${base}/apps/BENCH`, 'POST', instance('b0', 20000, 1));
  await source.start();
  await until(() => view.get('bench')?.endpoints.length === 1);
  const intervalMs = durationMs(delta);
  const samples: number[] = [];
  for (let i = 1; i <= changes; i++) {
    await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
    const t0 = performance.now();
    const step = i % 3;
    if (step === 1) {
      await call(`${base}/apps/BENCH`, 'POST', instance('b1', 20001, 1));
      await until(() => view.get('bench')?.endpoints.length === 2);
    } else if (step === 2) {
      await call(`${base}/apps/BENCH/b0/metadata?weight=${i}`, 'PUT');
      await until(() => view.get('bench')?.endpoints.find((e) => e.port === 20000)?.weight === i * 100);
    } else {
      await call(`${base}/apps/BENCH/b1`, 'DELETE');
      await until(() => view.get('bench')?.endpoints.length === 1);
    }
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => percentile(samples, p * 100);
  const f = (ms: number) => `${ms.toFixed(0)} ms (${(ms / intervalMs).toFixed(2)}x)`;
  process.stdout.write(
    `eureka write -> sink, deltaInterval ${delta}, n=${samples.length}: p50=${f(q(0.5))} p99=${f(q(0.99))} max=${f(samples.at(-1)!)}\n`,
  );
} finally {
  await source.stop();
  await server.kill();
}
