/**
 * ZooKeeper source at scale, against its own real ZooKeeper (testkit). Writes N services x M endpoints (default
 * 5,000 x 10) in two layouts with pipelined multi-ops, then lists them with the source, each layout in a fresh
 * process (so heap and RSS are the source's own):
 * - dubbo:  N interfaces under /dubbo, M provider URLs each (N+1 child reads, no data reads);
 * - spring: N Curator/Spring Cloud services under /services, M instance JSONs each (N+1 child reads, N*M data reads);
 * - both:   one source over both trees (2*N services, 2*N*M endpoints).
 * Prints, per layout: the full listing time (start() to snapshot()), CPU time, heap and RSS growth with the source
 * running and its snapshot held; for both: a periodic (children-only) re-list, and the latency of changes with
 * everything loaded. No baseline exists for this path, so there are no ratios.
 * Latency is over 50 changes of each kind (after 5 warm-up ones): from the write's call to the sink's update.
 * Run: node bench/discovery/zookeeper-scale.ts [services] [endpointsPerService]   (`10 2` for latency alone)
 */
import { spawnSync } from 'node:child_process';
import { BUILTIN_SOURCES } from '@portico/discovery';
import { startZooKeeper } from '@portico/testkit';
import { CreateMode } from 'node-zookeeper-client';
import {
  call,
  connectWriter,
  dubboUrl,
  javaUrlEncode,
  loadDubbo,
  loadSpring,
  print,
  springInstance,
  summary,
  TimingSink,
} from './zookeeper-writers.ts';

const LAYOUTS = ['dubbo', 'spring', 'both'] as const;
type Layout = (typeof LAYOUTS)[number];
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (process.argv[2] === '--child') await child(process.argv[3] as Layout, process.argv[4]!, Number(process.argv[5]));
else await parent(Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? 10));

async function parent(n: number, m: number): Promise<void> {
  const zk = await startZooKeeper();
  try {
    const writer = await connectWriter(zk.connectString);
    let t = performance.now();
    await loadDubbo(writer, '/bench/dubbo', n, m);
    const dubboLoad = performance.now() - t;
    t = performance.now();
    await loadSpring(writer, '/bench/services', n, m);
    const springLoad = performance.now() - t;
    writer.close();
    print(`ZooKeeper ${zk.connectString} (testkit: -Xmx256m); ${n} services x ${m} endpoints per layout`);
    print(
      `load, pipelined multi-ops (one per service, 256 in flight): dubbo ${(dubboLoad / 1000).toFixed(1)} s ` +
        `(${Math.round((n * (m + 2)) / (dubboLoad / 1000))} znodes/s), spring ${(springLoad / 1000).toFixed(1)} s ` +
        `(${Math.round((n * (m + 1)) / (springLoad / 1000))} znodes/s)`,
    );
    for (const layout of LAYOUTS) {
      const args = ['--expose-gc', process.argv[1]!, '--child', layout, zk.connectString, String(m)];
      const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
      if (run.status !== 0) throw new Error(`${layout} run failed (${run.status ?? run.signal})`);
    }
  } finally {
    await zk.stop();
  }
}

function settle(): { heap: number; rss: number } {
  const gc = globalThis.gc as () => void;
  gc();
  gc();
  const mem = process.memoryUsage();
  return { heap: mem.heapUsed, rss: mem.rss };
}

async function child(layout: Layout, connectString: string, m: number): Promise<void> {
  const before = settle();
  const cpu0 = process.cpuUsage();
  const sink = new TimingSink();
  const refreshMs = 30_000;
  const source = BUILTIN_SOURCES.zookeeper({
    name: 'bench',
    spec: {
      type: 'zookeeper',
      addresses: [connectString],
      dubboRoot: layout === 'spring' ? '/bench/none' : '/bench/dubbo',
      servicesRoot: layout === 'dubbo' ? '/bench/none' : '/bench/services',
      sessionTimeout: '30s',
      refreshInterval: `${refreshMs / 1000}s`,
    },
    sink,
  });
  let peak = { heap: 0, rss: 0, external: 0 };
  const sample = () => {
    const mem = process.memoryUsage();
    peak = {
      heap: Math.max(peak.heap, mem.heapUsed),
      rss: Math.max(peak.rss, mem.rss),
      external: Math.max(peak.external, mem.external),
    };
  };
  const sampler = setInterval(sample, 50);
  const t0 = performance.now();
  await source.start();
  const listMs = performance.now() - t0;
  clearInterval(sampler);
  sample();
  const cpu = process.cpuUsage(cpu0);
  const services = sink.last.length;
  const endpoints = sink.last.reduce((n, s) => n + s.endpoints.length, 0);
  const after = settle();
  print(
    `${layout.padEnd(6)} full listing: ${services} services, ${endpoints} endpoints in ${listMs.toFixed(0)} ms; ` +
      `CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; heap +${mb(after.heap - before.heap)}, ` +
      `RSS +${mb(after.rss - before.rss)} (process RSS ${mb(after.rss)})`,
  );
  print(`       peak while listing: heap ${mb(peak.heap)}, external ${mb(peak.external)}, RSS ${mb(peak.rss)}`);
  if (sink.calls.some((c) => c.type !== 'snapshot')) print(`  unexpected: ${JSON.stringify(sink.calls.slice(0, 3))}`);

  if (layout === 'both') {
    // The periodic re-list (children, plus the data of instances not seen before) fires refreshMs after start().
    const periodic = sink.wait((c) => c.type === 'snapshot', refreshMs + 60_000, 'the periodic re-list');
    // Change latency with everything loaded: a Dubbo provider added then removed, a Spring instance's weight.
    const writer = await connectWriter(connectString);
    const iface = 'com.example.bench.Service1';
    const name = `providers:${iface}:1.0.0:`;
    const id = `00000000-0000-4000-8000-${String(2 * 100).padStart(12, '0')}`;
    const samples = { added: [] as number[], removed: [] as number[], weight: [] as number[] };
    const timed = async (
      into: number[],
      what: string,
      check: Parameters<TimingSink['wait']>[0],
      write: () => unknown,
    ) => {
      const seen = sink.wait(check, 10_000, what);
      const start = performance.now();
      await write();
      into.push((await seen).at - start);
    };
    for (let i = 0; i < 55; i++) {
      const child = `/bench/dubbo/${iface}/providers/${javaUrlEncode(dubboUrl(iface, '10.99.0.1', 30000 + i))}`;
      await timed(
        samples.added,
        'provider added',
        (c) => c.service?.name === name && c.service.endpoints.length === m + 1,
        () => call((cb) => writer.create(child, CreateMode.EPHEMERAL, cb)),
      );
      await timed(
        samples.removed,
        'provider removed',
        (c) => c.service?.name === name && c.service.endpoints.length === m,
        () => call((cb) => writer.remove(child, (err) => cb(err, undefined))),
      );
      const json = Buffer.from(JSON.stringify(springInstance('bench-app-2', id, '10.0.2.1', 8080, String(i + 2))));
      await timed(
        samples.weight,
        'weight changed',
        (c) =>
          c.service?.name === 'bench-app-2' &&
          c.service.endpoints.find((e) => e.address === '10.0.2.1')?.weight === (i + 2) * 100,
        () => call((cb) => writer.setData(`/bench/services/bench-app-2/${id}`, json, cb)),
      );
    }
    writer.close();
    print(`  ${summary('dubbo provider added -> update', samples.added.slice(5))}`);
    print(`  ${summary('dubbo provider removed -> update', samples.removed.slice(5))}`);
    print(`  ${summary('spring weight changed -> update', samples.weight.slice(5))}`);
    const cpu1 = process.cpuUsage();
    const next = await periodic;
    const relistCpu = process.cpuUsage(cpu1);
    print(
      `  periodic re-list: done ~${(next.at - (t0 + refreshMs)).toFixed(0)} ms after its timer, ` +
        `CPU ${((relistCpu.user + relistCpu.system) / 1000).toFixed(0)} ms`,
    );
  }
  await source.stop();
}
