/**
 * Proxy benchmark: Portico against baselines measured in the same run.
 *
 *   node bench/proxy/run.ts [--duration 10] [--connections 50] [--only direct,undici,fastify,portico,portico-log]
 *                           [--workers 2[,4]] [--warmup 2] [--rounds 3]
 *
 * Targets, each proxy in its own process so its CPU can be read from /proc:
 *   direct       wrk -> backend (no proxy)
 *   undici       node:http + undici Pool.dispatch, headers copied, no routing: the Node floor
 *   fastify      fastify + @fastify/http-proxy
 *   portico      `portico standalone` with 1,000 Routes loaded and metrics on, access logs off (--log-level warn)
 *   portico-log  the same with the default log (info: one access line per request), stdout redirected to a file
 *
 * Pinning (see README.md): the proxy gets core 0 to itself; wrk, the backend and the paced latency client share
 * the last core. The proxy does the most work per request, so it is the bottleneck and its core is the one
 * measured. Exit code is 0 whatever the figures: this is a measurement; targets print PASS/FAIL.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocuments } from '@portico/config';
import { freePort } from '@portico/testkit';
import { cpuBusyMicros, cpuCount, hasTaskset, pinned, type Spawned, spawnReady, treeCpuMicros } from '../lib/proc.ts';
import { median, percentile } from '../lib/stats.ts';
import { runWrk, type WrkResult } from '../lib/wrk.ts';
import { BENCH_HOST, BENCH_INDEX, BENCH_PATH, porticoBenchConfig, ROUTE_COUNT } from './portico-config.ts';
import { spawnStdoutToFile } from './spawn-logging.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;
const CLI = join(ROOT, 'services/cli/bin/portico.js');
const TARGET_NAMES = ['direct', 'undici', 'fastify', 'portico', 'portico-log'] as const;
type TargetName = (typeof TARGET_NAMES)[number];

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    `${[
      'node bench/proxy/run.ts [options]        (npm run bench:proxy -- [options])',
      '  --duration S      seconds of each peak run (default 10)',
      "  --connections N   wrk connections, and the paced client's (default 50)",
      '  --warmup S        one unrecorded wrk run per target first (default 2)',
      '  --rounds N        interleaved rounds; ratios are medians of per-round ratios (default 3)',
      `  --only LIST       targets, comma-separated: ${TARGET_NAMES.join(', ')} (default all)`,
      '  --workers N[,M]   Portico again with N worker processes, peak only',
      "Prints PASS/FAIL for: Portico CPU/req vs the undici floor, Portico's added p99 vs the floor's, and the",
      'default access log vs logs off. Exit code 0 either way; everything also goes to bench/results/proxy.json.',
    ].join('\n')}\n`,
  );
  process.exit(0);
}
const duration = Number(values.duration);
const connections = Number(values.connections);
const warmup = Number(values.warmup);
// A shared machine's speed drifts by tens of percent over minutes. Every figure is measured in rounds, each target
// in turn within a round, and ratios are taken between targets of the same round (then the median over rounds):
// a drift or a disturbance then lands on one round, not on one target's whole figure.
const rounds = Math.max(1, Math.floor(Number(values.rounds)) || 1);
const LATENCY_SLICE_SEC = 4;
const LATENCY_WARMUP_SEC = 2;
if (!(duration > 0) || !(connections > 0) || !(warmup >= 0)) throw new Error('--duration, --connections, --warmup');
const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...TARGET_NAMES];
for (const name of only)
  if (!(TARGET_NAMES as readonly string[]).includes(name))
    throw new Error(`--only: unknown target "${name}" (one of ${TARGET_NAMES.join(', ')})`);
const workerCounts = (values.workers ?? '')
  .split(',')
  .filter(Boolean)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 1);

const NCPU = cpuCount();
const LOAD_CPUS = String(NCPU - 1);
const PROXY_CPUS = NCPU > 1 ? '0' : undefined;
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);

/** `0-2,5` -> [0, 1, 2, 5]. */
function cpuList(cpus: string | undefined): number[] {
  if (!cpus) return [];
  return cpus.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { headers: host ? { host } : {}, timeout: 5000 }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

interface Running {
  url: string;
  pid?: number;
  adminUrl?: string;
  stop(): Promise<void>;
}

interface PeakResult {
  rps: number;
  requests: number;
  errors: number;
  proxyCpuUsPerReq?: number;
  backendCpuUsPerReq: number;
  wrkP99Ms: number;
  /** Share of the proxy's core used by processes outside this bench during the run (a shared machine's noise). */
  foreignLoad?: number;
}

interface LatencyRun {
  foreignLoad?: number | undefined;
  rate: number;
  completed: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  windowP99Ms: number[];
}

interface LatencyResult {
  /** Each round's p99 (median of its one-second windows), for ratios within a round. */
  roundP99Ms: number[];
  foreignLoad: number | undefined;
  rate: number;
  completed: number;
  errors: number;
  /** Median over rounds of each round's p50. */
  p50Ms: number;
  /** Median of the p99s of every one-second window of every round: the tail of a typical second. */
  p99Ms: number;
  /** The worst one-second window's p99: what a stall of the machine (or the target) did. */
  worstWindowP99Ms: number;
  windows: number;
}

interface TargetReport {
  name: TargetName;
  label: string;
  available: boolean;
  note?: string;
  peak?: PeakResult;
  latency?: LatencyResult;
}

const LABELS: Record<TargetName, string> = {
  direct: 'direct (no proxy)',
  undici: 'bare undici dispatch',
  fastify: '@fastify/http-proxy',
  portico: `portico (${ROUTE_COUNT} routes)`,
  'portico-log': 'portico + default access log',
};

async function startNodeTarget(script: string, backendOrigin: string): Promise<Running> {
  const [cmd, args] = pinned(PROXY_CPUS, process.execPath, [join(HERE, script), backendOrigin, '0']);
  const s = await spawnReady(cmd, args, /READY (\d+)/);
  return { url: `http://127.0.0.1:${s.match[1]}`, pid: s.child.pid, stop: s.stop };
}

/**
 * `portico standalone` with the bench config. With `logFile`, the default log level and stdout redirected to that
 * file (as `portico standalone > file`); without, `--log-level warn` (no access log).
 */
async function startPortico(
  backendPort: number,
  workers: number,
  cpus: string | undefined,
  logFile?: string,
): Promise<Running> {
  if (!existsSync(CLI)) throw new Error(`not available: ${CLI} does not exist yet`);
  const dir = join(tmpdir(), `portico-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'portico-bench.yaml');
  const text = porticoBenchConfig(backendPort);
  const parsed = parseDocuments(text, file);
  if (parsed.errors.length > 0) throw new Error(`generated config is invalid: ${JSON.stringify(parsed.errors[0])}`);
  writeFileSync(file, text);
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const cliArgs = [
    'standalone',
    '--config',
    file,
    '--proxy-port',
    String(proxyPort),
    '--admin-port',
    String(adminPort),
  ];
  if (logFile === undefined) cliArgs.push('--log-level', 'warn');
  if (workers > 1) cliArgs.push('--workers', String(workers));
  const [cmd, args] = pinned(cpus, process.execPath, [CLI, ...cliArgs]);
  const banner = /portico listening: proxy (http:\/\/\S+).*? admin (http:\/\/\S+)/;
  let s: Pick<Spawned, 'child' | 'match' | 'stop'>;
  try {
    s =
      logFile === undefined
        ? await spawnReady(cmd, args, banner, { cwd: ROOT, timeoutMs: 30_000 })
        : await spawnStdoutToFile(cmd, args, banner, logFile, { cwd: ROOT });
  } catch (err) {
    const msg = (err as Error).message;
    if (workers > 1 && /workers/i.test(msg)) throw new Error('workers not supported yet');
    throw new Error(`not available: ${msg}`);
  }
  const url = s.match[1]!.replace(/\/$/, '');
  const adminUrl = s.match[2]!.replace(/\/$/, '');
  const readyBy = Date.now() + 15_000;
  for (;;) {
    const r = await get(`${adminUrl}/readyz`).catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) break;
    if (Date.now() > readyBy) {
      await s.stop();
      throw new Error(`not available: ${adminUrl}/readyz answered ${r.status}`);
    }
    await new Promise((r2) => setTimeout(r2, 100));
  }
  return { url, adminUrl, pid: s.child.pid, stop: s.stop };
}

async function peak(
  target: Running,
  backendPid: number,
  cpus: string | undefined,
  first: boolean,
): Promise<PeakResult> {
  const wrk = (d: number): Promise<WrkResult> =>
    runWrk({
      url: `${target.url}${BENCH_PATH}`,
      connections,
      durationSec: d,
      headers: { Host: BENCH_HOST }, // capital H: wrk replaces its own Host header only when spelled so
      cpus: hasTaskset ? LOAD_CPUS : undefined,
    });
  if (first && warmup > 0) await wrk(warmup); // JIT and connection pools warm before anything is counted
  // The proxy's cores, when they are its own (not shared with the load core).
  const own = cpuList(cpus).filter((c) => String(c) !== LOAD_CPUS);
  const proxyCores = target.pid && own.length === cpuList(cpus).length ? own : [];
  const c0 = cpuBusyMicros();
  const t0 = performance.now();
  const p0 = target.pid ? treeCpuMicros(target.pid) : 0;
  const b0 = treeCpuMicros(backendPid);
  const w = await wrk(duration);
  const p1 = target.pid ? treeCpuMicros(target.pid) : 0;
  const b1 = treeCpuMicros(backendPid);
  const c1 = cpuBusyMicros();
  const wallUs = (performance.now() - t0) * 1000;
  // Only the proxy is pinned to its cores: whatever else ran there came from outside the bench.
  const busy = proxyCores.reduce((sum, c) => sum + c1[c]! - c0[c]!, 0);
  const foreignLoad = proxyCores.length ? Math.max(0, (busy - (p1 - p0)) / wallUs) : undefined;
  return {
    foreignLoad,
    rps: w.rps,
    requests: w.requests,
    errors: w.errors,
    proxyCpuUsPerReq: target.pid ? (p1 - p0) / w.requests : undefined,
    backendCpuUsPerReq: (b1 - b0) / w.requests,
    wrkP99Ms: w.latencyMs.p99,
  };
}

async function paced(target: Running, rate: number, backendPort: number): Promise<LatencyRun> {
  const args = [
    join(ROOT, 'bench/lib/paced-client.ts'),
    '--url',
    `${target.url}${BENCH_PATH}`,
    '--host',
    BENCH_HOST,
    '--rate',
    String(Math.round(rate)),
    '--duration',
    String(LATENCY_SLICE_SEC),
    '--warmup',
    String(LATENCY_WARMUP_SEC),
    '--connections',
    String(connections),
    // The client answers as the backend itself, on the backend's port (the backend process is stopped by then):
    // two processes sharing the load core take turns in scheduler slices of milliseconds, a tail that is the
    // machine's and not the proxy's.
    '--serve-port',
    String(backendPort),
  ];
  const [cmd, argv] = pinned(hasTaskset ? LOAD_CPUS : undefined, process.execPath, args);
  const c0 = cpuBusyMicros();
  const t0 = performance.now();
  const p0 = target.pid ? treeCpuMicros(target.pid) : 0;
  const text = await new Promise<string>((res, rej) => {
    execFile(
      cmd,
      argv,
      { encoding: 'utf8', timeout: (LATENCY_SLICE_SEC + LATENCY_WARMUP_SEC + 30) * 1000 },
      (err, stdout, stderr) => (err ? rej(new Error(`${err.message} ${stderr}`)) : res(stdout)),
    );
  });
  const p1 = target.pid ? treeCpuMicros(target.pid) : 0;
  const c1 = cpuBusyMicros();
  const wallUs = (performance.now() - t0) * 1000;
  const r = JSON.parse(text.trim().split('\n').pop()!) as LatencyRun & { cpuUs: number };
  // Foreign load on either core: the proxy's (minus the proxy) and the load core (minus the client).
  let foreignLoad: number | undefined;
  if (hasTaskset && NCPU > 1) {
    const load = Number(LOAD_CPUS);
    const onLoad = (c1[load]! - c0[load]! - r.cpuUs) / wallUs;
    const onProxy = target.pid ? (c1[0]! - c0[0]! - (p1 - p0)) / wallUs : 0;
    foreignLoad = Math.max(0, onLoad, onProxy);
  }
  return { ...r, foreignLoad };
}

function summarizePeak(runs: PeakResult[]): PeakResult {
  const cpu = runs.map((r) => r.proxyCpuUsPerReq).filter((x): x is number => x !== undefined);
  const load = runs.map((r) => r.foreignLoad).filter((x): x is number => x !== undefined);
  return {
    rps: median(runs.map((r) => r.rps)),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    proxyCpuUsPerReq: cpu.length ? median(cpu) : undefined,
    backendCpuUsPerReq: median(runs.map((r) => r.backendCpuUsPerReq)),
    wrkP99Ms: median(runs.map((r) => r.wrkP99Ms)),
    foreignLoad: load.length ? Math.max(...load) : undefined,
  };
}

function summarizeLatency(runs: LatencyRun[]): LatencyResult {
  const windows = runs.flatMap((r) => r.windowP99Ms);
  return {
    foreignLoad: runs.some((r) => r.foreignLoad !== undefined)
      ? Math.max(...runs.map((r) => r.foreignLoad ?? 0))
      : undefined,
    rate: median(runs.map((r) => r.rate)),
    completed: runs.reduce((n, r) => n + r.completed, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(windows),
    roundP99Ms: runs.map((r) => median(r.windowP99Ms)),
    worstWindowP99Ms: Math.max(...windows),
    windows: windows.length,
  };
}

async function sanity(target: Running): Promise<void> {
  const r = await get(`${target.url}${BENCH_PATH}`, BENCH_HOST);
  if (r.status !== 200 || r.body.length !== 64)
    throw new Error(`sanity GET ${BENCH_PATH} answered ${r.status} with ${r.body.length} bytes (want 200, 64)`);
}

/** `peak% / latency%` of foreign load. */
function noiseCell(peakLoad: number | undefined, latencyLoad: number | undefined): string {
  const pct = (x: number | undefined): string => (x === undefined ? '-' : `${Math.round(x * 100)}%`);
  return ` ${pct(peakLoad)}/${pct(latencyLoad)}`;
}

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);

async function main(): Promise<void> {
  out(
    `proxy bench: node ${process.version}, ${NCPU} cpus, wrk -t1 -c${connections} -d${duration}s (+${warmup}s warmup)`,
  );
  out(
    hasTaskset && NCPU > 1
      ? `pinning: proxy on cpu ${PROXY_CPUS}; wrk, backend and paced client on cpu ${LOAD_CPUS}`
      : 'pinning: none (taskset missing or one cpu): figures are less comparable',
  );
  out(`request: GET ${BENCH_PATH} Host: ${BENCH_HOST} (route ${BENCH_INDEX + 1} of ${ROUTE_COUNT} for portico)`);

  const backendPort = await freePort();
  const [bcmd, bargs] = pinned(hasTaskset ? LOAD_CPUS : undefined, process.execPath, [
    join(HERE, 'backend.ts'),
    String(backendPort),
  ]);
  const backend = await spawnReady(bcmd, bargs, /READY (\d+)/);
  const backendOrigin = `http://127.0.0.1:${backend.match[1]}`;
  const backendPid = backend.child.pid!;
  const backendPortNumber = Number(backend.match[1]);
  const accessLogFile = join(tmpdir(), `portico-bench-${process.pid}-stdout.log`);

  const starters: Record<TargetName, () => Promise<Running>> = {
    direct: async () => ({ url: backendOrigin, stop: async () => {} }),
    undici: () => startNodeTarget('undici-proxy.ts', backendOrigin),
    fastify: () => startNodeTarget('fastify-proxy.ts', backendOrigin),
    portico: () => startPortico(backendPortNumber, 1, PROXY_CPUS),
    'portico-log': () => startPortico(backendPortNumber, 1, PROXY_CPUS, accessLogFile),
  };
  const reports = new Map<TargetName, TargetReport>();
  const running = new Map<TargetName, Running>();
  let porticoMetrics: string | undefined;

  // Phase 1: peak throughput and CPU per request, one target at a time (the others idle), in rounds.
  // Half of Portico's peak (or the floor's, without Portico) is the rate of the latency phase.
  const order: TargetName[] = (['portico', 'portico-log', 'undici', 'direct', 'fastify'] as const).filter((n) =>
    only.includes(n),
  );
  for (const name of order) {
    const report: TargetReport = { name, label: LABELS[name], available: false };
    reports.set(name, report);
    let t: Running | undefined;
    try {
      t = await starters[name]();
      await sanity(t);
    } catch (err) {
      report.note = (err as Error).message.split('\n')[0]!.slice(0, 300);
      out(`${name}: ${report.note}`);
      await t?.stop();
      continue;
    }
    report.available = true;
    running.set(name, t);
  }
  const peaks = new Map<TargetName, PeakResult[]>();
  for (let round = 0; round < rounds; round++) {
    out(`peak round ${round + 1}/${rounds}...`);
    // Alternate the order so no target always follows the same one.
    const inRound = round % 2 === 0 ? order : [...order].reverse();
    for (const name of inRound) {
      const t = running.get(name);
      if (t) peaks.set(name, [...(peaks.get(name) ?? []), await peak(t, backendPid, PROXY_CPUS, round === 0)]);
    }
  }
  for (const [name, list] of peaks) reports.get(name)!.peak = summarizePeak(list);
  const porticoAdmin = running.get('portico')?.adminUrl;
  if (porticoAdmin) {
    const m = await get(`${porticoAdmin}/metrics`).catch(() => ({ status: 0, body: '' }));
    porticoMetrics =
      m.status === 200
        ? `${m.body.split('\n').filter((l) => l && !l.startsWith('#')).length} samples`
        : `GET /metrics -> ${m.status}`;
  }
  /** Per-round ratios between two targets measured in the same round (kept for the report), and their median. */
  const roundRatios: Record<string, number[]> = {};
  const pairedRatio = (
    what: string,
    a: TargetName,
    b: TargetName,
    f: (p: PeakResult) => number | undefined,
  ): number | undefined => {
    const as = peaks.get(a);
    const bs = peaks.get(b);
    if (!as || !bs) return undefined;
    const ratios = as.map((x, i) => (f(x) ?? Number.NaN) / (f(bs[i]!) ?? Number.NaN)).filter(Number.isFinite);
    roundRatios[`${what} ${a}/${b}`] = ratios;
    return ratios.length ? median(ratios) : undefined;
  };
  /** Per-round p99 differences (ms) between two targets at the same rate, and their median. */
  const pairedLatency = (a: TargetName, b: TargetName): number | undefined => {
    const as = reports.get(a)?.latency?.roundP99Ms;
    const bs = reports.get(b)?.latency?.roundP99Ms;
    if (!as || !bs) return undefined;
    const diffs = as.map((x, i) => x - (bs[i] ?? Number.NaN)).filter(Number.isFinite);
    roundRatios[`p99 ms ${a}−${b}`] = diffs;
    return diffs.length ? median(diffs) : undefined;
  };

  const rateBase =
    reports.get('portico')?.peak?.rps ??
    reports.get('undici')?.peak?.rps ??
    [...reports.values()].find((r) => r.peak)?.peak?.rps;
  const rateFrom = reports.get('portico')?.peak
    ? 'portico'
    : reports.get('undici')?.peak
      ? 'undici floor'
      : 'first target';
  // Multi-core: Portico with N workers, throughput only (the single-worker targets sit idle meanwhile).
  const scaling: { workers: number; rps?: number; cpuUsPerReq?: number; cpus?: string; note?: string }[] = [];
  if (workerCounts.length > 0 && only.includes('portico')) {
    const one = reports.get('portico')?.peak;
    scaling.push({ workers: 1, rps: one?.rps, cpuUsPerReq: one?.proxyCpuUsPerReq, cpus: PROXY_CPUS });
    for (const n of workerCounts) {
      // Give the proxy n cores when the machine has them beside the load core; otherwise it shares.
      const cpus = hasTaskset ? (n < NCPU ? `0-${n - 1}` : `0-${NCPU - 1}`) : undefined;
      try {
        const t = await startPortico(backendPortNumber, n, cpus);
        await sanity(t);
        const p = await peak(t, backendPid, cpus, true);
        await t.stop();
        scaling.push({
          workers: n,
          rps: p.rps,
          cpuUsPerReq: p.proxyCpuUsPerReq,
          cpus,
          note: n >= NCPU ? 'shares the load core' : undefined,
        });
      } catch (err) {
        const msg = (err as Error).message;
        scaling.push({
          workers: n,
          note: msg.includes('workers not supported') ? 'workers not supported yet' : msg.slice(0, 200),
        });
      }
    }
  }
  // Phase 2: latency at a constant rate, the same rate for every target, in interleaved rounds. The backend
  // process makes way for the paced client, which answers on the same port.
  await backend.stop();
  if (rateBase) {
    const rate = rateBase / 2;
    out(
      `latency phase: ${Math.round(rate)} req/s (half of ${rateFrom}'s peak), ${rounds} rounds of ${LATENCY_SLICE_SEC}s per target`,
    );
    const runs = new Map<TargetName, LatencyRun[]>();
    for (let round = 0; round < rounds; round++) {
      for (const name of order) {
        const t = running.get(name);
        if (!t) continue;
        try {
          const r = await paced(t, rate, backendPortNumber);
          runs.set(name, [...(runs.get(name) ?? []), r]);
        } catch (err) {
          reports.get(name)!.note = `latency run failed: ${(err as Error).message.slice(0, 200)}`;
        }
      }
    }
    for (const [name, list] of runs) reports.get(name)!.latency = summarizeLatency(list);
  }
  for (const t of running.values()) await t.stop();
  // What the default log wrote: its size shows the access log ran (one line per request).
  let accessLogBytes: number | undefined;
  if (existsSync(accessLogFile)) {
    accessLogBytes = statSync(accessLogFile).size;
    rmSync(accessLogFile, { force: true });
  }

  // Report.
  const direct = reports.get('direct')?.latency;
  out();
  out(
    'target                  |      req/s | proxy µs/req | backend µs/req | errors | p50 ms | p99 ms | added p99 ms | worst 1s p99 | noise peak/lat',
  );
  out(
    '------------------------+------------+--------------+----------------+--------+--------+--------+--------------+--------------+---------------',
  );
  for (const name of TARGET_NAMES) {
    const r = reports.get(name);
    if (!r) continue;
    if (!r.available) {
      out(`${r.label.padEnd(24)}| ${r.note ?? 'not available'}`);
      continue;
    }
    const p = r.peak!;
    const l = r.latency;
    const added = l && direct && name !== 'direct' ? l.p99Ms - direct.p99Ms : undefined;
    out(
      [
        r.label.padEnd(24),
        fmt(p.rps, 0).padStart(11),
        fmt(p.proxyCpuUsPerReq).padStart(13),
        fmt(p.backendCpuUsPerReq).padStart(15),
        String(p.errors + (l?.errors ?? 0)).padStart(7),
        fmt(l?.p50Ms, 3).padStart(7),
        fmt(l?.p99Ms, 3).padStart(7),
        fmt(added, 3).padStart(13),
        fmt(l?.worstWindowP99Ms, 1).padStart(13),
        noiseCell(p.foreignLoad, l?.foreignLoad),
      ].join(' |'),
    );
  }
  for (const r of reports.values()) if (r.available && r.note) out(`${r.name}: ${r.note}`);
  const noisy = [...reports.values()].some(
    (r) => (r.peak?.foreignLoad ?? 0) > 0.05 || (r.latency?.foreignLoad ?? 0) > 0.05,
  );
  if (noisy)
    out('noise: processes outside the bench took over 5% of a bench core during a run; rerun on a quiet machine');
  if (porticoMetrics) out(`portico metrics after the run: ${porticoMetrics}`);

  const targets: { name: string; value?: number; goal: string; pass?: boolean }[] = [];
  // (a) CPU per request against the floor, median of the per-round ratios.
  const cpuRatio = pairedRatio('CPU/req', 'portico', 'undici', (p) => p.proxyCpuUsPerReq);
  targets.push({
    name: 'portico CPU/req ÷ undici floor CPU/req',
    value: cpuRatio,
    goal: '≤ 1.10',
    pass: cpuRatio === undefined ? undefined : cpuRatio <= 1.1,
  });
  // (b) Portico's added p99 over the floor's, both at the same rate: per round, Portico's p99 minus the floor's
  // p99 of the same round (the direct p99 they both subtract cancels), then the median over rounds.
  const extraP99 = pairedLatency('portico', 'undici');
  targets.push({
    name: 'portico added p99 − floor added p99 (ms)',
    value: extraP99,
    goal: '≤ 1.000',
    pass: extraP99 === undefined ? undefined : extraP99 <= 1,
  });
  // (c) The default access log (stdout to a file) against logs off, throughput, median of per-round ratios.
  const logRatio = pairedRatio('req/s', 'portico-log', 'portico', (p) => p.rps);
  targets.push({
    name: 'default access log req/s ÷ logs off req/s',
    value: logRatio,
    goal: '≥ 0.90',
    pass: logRatio === undefined ? undefined : logRatio >= 0.9,
  });
  const rpsRatio = pairedRatio('req/s', 'portico', 'fastify', (p) => p.rps);
  targets.push({
    name: 'portico req/s ÷ fastify req/s',
    value: rpsRatio,
    goal: '≥ 2.00',
    pass: rpsRatio === undefined ? undefined : rpsRatio >= 2,
  });
  // Context, kept in the per-round lines: the log's CPU cost and the logging Portico against the floor.
  const logCpuRatio = pairedRatio('CPU/req', 'portico-log', 'portico', (p) => p.proxyCpuUsPerReq);
  const logVsFloor = pairedRatio('req/s', 'portico-log', 'undici', (p) => p.rps);
  const floorVsFastify = pairedRatio('req/s', 'undici', 'fastify', (p) => p.rps);
  const porticoVsFloor = pairedRatio('req/s', 'portico', 'undici', (p) => p.rps);
  out();
  for (const t of targets)
    out(
      `${t.pass === undefined ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(42)} ${fmt(t.value, 3).padStart(8)}  (target ${t.goal})`,
    );
  // The middle half of the per-round ratios shows how far one round's figure can be trusted on this machine.
  for (const [pair, ratios] of Object.entries(roundRatios)) {
    if (ratios.length < 2) continue;
    const spread =
      ratios.length >= 4
        ? `  (middle half ${percentile(ratios, 25).toFixed(3)}-${percentile(ratios, 75).toFixed(3)})`
        : '';
    out(`rounds ${pair.padEnd(32)} ${ratios.map((r) => r.toFixed(3)).join(' ')}${spread}`);
  }
  const info = (name: string, value: number | undefined): void => {
    if (value !== undefined) out(`info  ${name.padEnd(44)} ${fmt(value, 3).padStart(8)}`);
  };
  info('default access log CPU/req ÷ logs off CPU/req', logCpuRatio);
  info('portico req/s ÷ undici floor req/s', porticoVsFloor);
  info('default access log req/s ÷ undici floor req/s', logVsFloor);
  // What the floor itself achieves against the same goals.
  info('undici floor req/s ÷ fastify req/s', floorVsFastify);
  const added = (name: TargetName): number | undefined => {
    const l = reports.get(name)?.latency;
    return l && direct ? l.p99Ms - direct.p99Ms : undefined;
  };
  info('portico added p99 (ms) at half peak', added('portico'));
  info('undici floor added p99 (ms) at that rate', added('undici'));
  if (accessLogBytes !== undefined) info('default access log: MB written to the file', accessLogBytes / 1e6);

  if (scaling.length > 0) {
    out();
    out('portico workers | cpus  |      req/s | speed-up | µs/req');
    for (const s of scaling)
      out(
        `${String(s.workers).padStart(15)} | ${(s.cpus ?? '-').padEnd(5)} | ${fmt(s.rps, 0).padStart(10)} | ${
          s.rps && scaling[0]?.rps ? `${(s.rps / scaling[0].rps).toFixed(2)}x`.padStart(8) : '       -'
        } | ${fmt(s.cpuUsPerReq).padStart(6)}${s.note ? `  ${s.note}` : ''}`,
      );
  }

  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'proxy.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: NCPU,
        pinning: { proxy: PROXY_CPUS ?? null, load: hasTaskset ? LOAD_CPUS : null },
        options: { duration, connections, warmup, rounds, only, workers: workerCounts },
        request: { host: BENCH_HOST, path: BENCH_PATH, routes: ROUTE_COUNT },
        targets: Object.fromEntries([...reports].map(([k, v]) => [k, v])),
        ratios: targets,
        roundRatios,
        accessLogBytes,
        scaling,
        porticoMetrics,
      },
      null,
      2,
    )}\n`,
  );
  out(`\nwrote ${join(resultsDir, 'proxy.json')}`);
}

await main();
