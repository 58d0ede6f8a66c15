/**
 * Paired proxy benchmark: the bare undici floor and Portico (and optionally Portico from another checkout) run AT
 * ONCE, pinned to the same core, each driven by its own wrk on the other core. The scheduler splits the shared
 * core between them, so a drift of the VM hits every target in the same second, and the ratio of their CPU time
 * per request (read from /proc) is the figure the standing target is about.
 *
 *   node bench/proxy/paired.ts [--rounds 8] [--duration 5] [--connections 50] [--baseline /path/to/other/checkout]
 *                              [--access-log]
 *
 * --baseline adds `portico-base`: the same config served by another checkout's CLI (its own node_modules), for a
 * before/after comparison in the same rounds. --access-log adds `portico-log`: this checkout with the default log
 * (info, one access line per request) and stdout redirected to a file, the cost of the access log in the same rounds. Prints per-round ratios, then the median and the middle half.
 * Exit code is 0 whatever the figures: this is a measurement.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '@portico/testkit';
import { cpuCount, hasTaskset, pinned, type Spawned, spawnReady, treeCpuMicros } from '../lib/proc.ts';
import { median, percentile } from '../lib/stats.ts';
import { runWrk } from '../lib/wrk.ts';
import { BENCH_HOST, BENCH_PATH, porticoBenchConfig, ROUTE_COUNT } from './portico-config.ts';
import { spawnStdoutToFile } from './spawn-logging.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    baseline: { type: 'string' },
    'access-log': { type: 'boolean' },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
if (!(duration > 0) || !(connections > 0) || !(warmup >= 0)) throw new Error('--duration, --connections, --warmup');
if (cpuCount() < 2 || !hasTaskset) throw new Error('paired rounds need 2 cores and taskset');
const PROXY_CPU = '0';
const LOAD_CPU = String(cpuCount() - 1);
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);

interface Target {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Logs off (`--log-level warn`), or with `logFile` the default log with stdout redirected to that file. */
async function startPortico(name: string, checkout: string, configFile: string, logFile?: string): Promise<Target> {
  const cli = join(checkout, 'services/cli/bin/portico.js');
  const node = join(checkout, 'node_modules/.bin/node');
  const args = [cli, 'standalone', '--config', configFile];
  if (logFile === undefined) args.push('--log-level', 'warn');
  args.push('--proxy-port', String(await freePort()), '--admin-port', String(await freePort()));
  const [cmd, argv] = pinned(PROXY_CPU, node, args);
  const ready = /portico listening: proxy (http:\/\/[^\s/]+)/;
  const s: Pick<Spawned, 'child' | 'match' | 'stop'> =
    logFile === undefined
      ? await spawnReady(cmd, argv, ready, { cwd: checkout, timeoutMs: 30_000 })
      : await spawnStdoutToFile(cmd, argv, ready, logFile, { cwd: checkout });
  return { name, url: s.match[1]!, pid: s.child.pid!, stop: s.stop };
}

async function main(): Promise<void> {
  const [bcmd, bargs] = pinned(LOAD_CPU, process.execPath, [join(HERE, 'backend.ts'), '0']);
  const backend = await spawnReady(bcmd, bargs, /READY (\d+)/);
  const backendPort = Number(backend.match[1]);
  const dir = join(tmpdir(), `portico-paired-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'portico-bench.yaml');
  writeFileSync(configFile, porticoBenchConfig(backendPort));

  const [fcmd, fargs] = pinned(PROXY_CPU, process.execPath, [
    join(HERE, 'undici-proxy.ts'),
    `http://127.0.0.1:${backendPort}`,
    '0',
  ]);
  const floor = await spawnReady(fcmd, fargs, /READY (\d+)/);
  const targets: Target[] = [
    { name: 'undici', url: `http://127.0.0.1:${floor.match[1]}`, pid: floor.child.pid!, stop: floor.stop },
    await startPortico('portico', ROOT, configFile),
  ];
  if (values.baseline !== undefined)
    targets.push(await startPortico('portico-base', resolve(values.baseline), configFile));
  if (values['access-log'])
    targets.push(await startPortico('portico-log', ROOT, configFile, join(dir, 'portico-log-stdout.log')));

  out(`paired rounds: ${targets.map((t) => t.name).join(', ')} at once on core ${PROXY_CPU}, one wrk each on core`);
  out(`${LOAD_CPU}; ${ROUTE_COUNT} routes; ${connections} connections per target; ${rounds} x ${duration} s`);
  const load = (t: Target, sec: number) =>
    runWrk({
      url: `${t.url}${BENCH_PATH}`,
      connections,
      durationSec: sec,
      headers: { Host: BENCH_HOST },
      cpus: LOAD_CPU,
    });
  try {
    if (warmup > 0) await Promise.all(targets.map((t) => load(t, warmup)));
    const cpuRatio: Record<string, number[]> = {};
    const rpsRatio: Record<string, number[]> = {};
    const record = (key: string, cpu: number, inverseRps: number): void => {
      cpuRatio[key] = [...(cpuRatio[key] ?? []), cpu];
      rpsRatio[key] = [...(rpsRatio[key] ?? []), inverseRps];
    };
    for (let r = 0; r < rounds; r++) {
      const cpu0 = targets.map((t) => treeCpuMicros(t.pid));
      const results = await Promise.all(targets.map((t) => load(t, duration)));
      const cpuPerReq = targets.map((t, i) => (treeCpuMicros(t.pid) - cpu0[i]!) / results[i]!.requests);
      const errors = results.reduce((n, w) => n + w.errors, 0);
      const cells = targets.map(
        (t, i) => `${t.name} ${Math.round(results[i]!.rps)} req/s ${cpuPerReq[i]!.toFixed(1)} us/req`,
      );
      out(`round ${r + 1}: ${cells.join(' | ')}${errors > 0 ? ` | ${errors} errors` : ''}`);
      for (let i = 1; i < targets.length; i++) {
        record(`${targets[i]!.name}/undici`, cpuPerReq[i]! / cpuPerReq[0]!, results[0]!.rps / results[i]!.rps);
      }
      const base = targets.findIndex((t) => t.name === 'portico-base');
      if (base > 0)
        record('portico/portico-base', cpuPerReq[1]! / cpuPerReq[base]!, results[base]!.rps / results[1]!.rps);
      const logged = targets.findIndex((t) => t.name === 'portico-log');
      if (logged > 0)
        record('portico-log/portico', cpuPerReq[logged]! / cpuPerReq[1]!, results[1]!.rps / results[logged]!.rps);
    }
    out();
    const show = (label: string, ratios: number[]) =>
      out(
        `${label.padEnd(34)} median ${median(ratios).toFixed(3)}  middle half ${percentile(ratios, 25).toFixed(3)}-` +
          `${percentile(ratios, 75).toFixed(3)}  rounds ${ratios.map((x) => x.toFixed(2)).join(' ')}`,
      );
    for (const key of Object.keys(cpuRatio)) {
      show(`CPU per request ${key}`, cpuRatio[key]!);
      show(`inverse throughput ${key}`, rpsRatio[key]!);
    }
  } finally {
    await Promise.all([...targets.map((t) => t.stop()), backend.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
