/**
 * HTTP/JSON to gRPC through Portico against the same gRPC server called directly by a grpc-js client.
 *
 *   node bench/transcode/grpc.ts [--rounds 4] [--duration 5] [--warmup 2] [--concurrency 50] [--connections 50]
 *                                [--latency-duration 4] [--streams 1000] [--waves 2] [--stream-interval 1000]
 *   npm run bench:transcode -- --rounds 6
 *
 * Processes: the test kit's grpc-js server with reflection (grpc-backend.ts) on the last cpu, `portico standalone`
 * (a Service `protocol: grpc` and a Route with a Grpc backendRef, `--log-level warn`) alone on cpu 0. What runs,
 * where, and how to read the output: bench/transcode/README.md. The exit code is 0 whatever the figures.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, waitUntil } from '@portico/testkit';
import { cpuBusyMicros, cpuCount, hasTaskset, pinned, spawnReady, treeCpuMicros } from '../lib/proc.ts';
import { median, percentile } from '../lib/stats.ts';
import { parseWrk, type WrkResult } from '../lib/wrk.ts';
import { SAY_MESSAGE, SAY_PATH, transcodeBenchConfig } from './config.ts';
import { connectInspectorMemory, inspectorUrl } from './inspector-memory.ts';
import { openStreams } from './streams.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;
const TARGET = 0.6;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    connections: { type: 'string', default: '50' },
    'latency-duration': { type: 'string', default: '4' },
    streams: { type: 'string', default: '1000' },
    waves: { type: 'string', default: '2' },
    'stream-interval': { type: 'string', default: '1000' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`${readUsage()}\n`);
  process.exit(0);
}
const rounds = Math.max(1, Number(values.rounds));
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
const connections = Number(values.connections);
const latencyDuration = Number(values['latency-duration']);
const streamCount = Number(values.streams);
const waves = Number(values.waves);
const streamInterval = Number(values['stream-interval']);
for (const [name, v] of Object.entries({ duration, concurrency, connections, latencyDuration, streamInterval }))
  if (!(v > 0)) throw new Error(`--${name} must be positive`);
if (!(warmup >= 0) || !(streamCount >= 0) || !(waves >= 1)) throw new Error('--warmup, --streams, --waves');
if (cpuCount() < 2 || !hasTaskset) throw new Error('the transcode bench needs 2 cores and taskset');
const PROXY_CPU = '0';
const LOAD_CPU = String(cpuCount() - 1);
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);

function readUsage(): string {
  return (
    'node bench/transcode/grpc.ts [--rounds 4] [--duration 5] [--warmup 2] [--concurrency 50] [--connections 50]\n' +
    '  [--latency-duration 4] [--streams 1000] [--waves 2] [--stream-interval 1000]   (see bench/transcode/README.md)'
  );
}

interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  windowP99Ms: number[];
  medianWindowP99Ms: number;
  cpuUs: number;
}

/** One run of load.ts in its own process, pinned to `cpus`. */
function runLoad(cpus: string, args: string[]): Promise<LoadResult> {
  const [cmd, argv] = pinned(cpus, process.execPath, [join(HERE, 'load.ts'), ...args]);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load.ts failed: ${err.message} ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

/** wrk posting the unary message as JSON (wrk's Lua hook sets method, body and content type). */
function runWrkPost(url: string, script: string, sec: number): Promise<WrkResult> {
  const [cmd, argv] = pinned(LOAD_CPU, 'wrk', ['-t1', `-c${connections}`, `-d${sec}s`, '--latency', '-s', script, url]);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: (sec + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message} ${stderr}`));
      try {
        resolve(parseWrk(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}

async function metric(adminUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, 'm'));
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;
const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
const fmt = (xs: number[], digits = 2): string => xs.map((x) => x.toFixed(digits)).join(' ');
const spread = (xs: number[]): string =>
  xs.length >= 4
    ? `middle half ${percentile(xs, 25).toFixed(3)}-${percentile(xs, 75).toFixed(3)}`
    : 'middle half n/a (< 4 rounds)';

interface Peak {
  rate: number;
  proxyCpuPerCall: number;
  backendCpuPerCall: number;
  clientCpuPerCall: number;
  /** Share of one core the backend and (direct) the grpc-js client used: which of them was the limit. */
  backendBusy: number;
  clientBusy: number;
  noise: number;
  errors: number;
}

async function main(): Promise<void> {
  const [bcmd, bargs] = pinned(LOAD_CPU, process.execPath, [join(HERE, 'grpc-backend.ts'), '0']);
  const backend = await spawnReady(bcmd, bargs, /READY (\d+)/);
  const backendPort = Number(backend.match[1]);
  const dir = join(tmpdir(), `portico-transcode-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'portico-transcode.yaml');
  writeFileSync(configFile, transcodeBenchConfig(backendPort));
  const script = join(dir, 'post-say.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = '${JSON.stringify({ message: SAY_MESSAGE })}'\n` +
      `wrk.headers["Content-Type"] = "application/json"\n`,
  );
  const startPortico = async (inspect: boolean) => {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const [cmd, argv] = pinned(PROXY_CPU, join(ROOT, 'node_modules/.bin/node'), [
      ...(inspect ? ['--inspect=127.0.0.1:0'] : []),
      join(ROOT, 'services/cli/bin/portico.js'),
      'standalone',
      '--config',
      configFile,
      '--proxy-port',
      String(proxyPort),
      '--admin-port',
      String(adminPort),
      '--log-level',
      'warn',
    ]);
    const spawned = await spawnReady(cmd, argv, /portico listening: proxy/, { cwd: ROOT, timeoutMs: 30_000 });
    return { ...spawned, proxyPort, adminPort };
  };
  const portico = await startPortico(false);
  const proxyPort = portico.proxyPort;
  const porticoPid = portico.child.pid!;
  const backendPid = backend.child.pid!;
  const porticoUrl = `http://127.0.0.1:${proxyPort}${SAY_PATH}`;
  const directTarget = `127.0.0.1:${backendPort}`;
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    rounds,
    duration,
    concurrency,
    connections,
  };

  out(`transcode bench: portico pid ${porticoPid} on cpu ${PROXY_CPU}, backend pid ${backendPid} on cpu ${LOAD_CPU}`);
  out(`direct: grpc-js client (${concurrency} calls in flight) on cpu ${PROXY_CPU} -> backend`);
  out(`portico: wrk -c${connections} POST ${SAY_PATH} (JSON) on cpu ${LOAD_CPU} -> portico -> backend`);
  out(`${rounds} rounds x ${duration} s, order alternating`);
  out();

  const measure = async (name: 'direct' | 'portico', sec: number, warm = 1): Promise<Peak> => {
    const p0 = treeCpuMicros(porticoPid);
    const b0 = treeCpuMicros(backendPid);
    const busy0 = cpuBusyMicros()[Number(PROXY_CPU)]!;
    const t0 = performance.now();
    let calls: number;
    let rate: number;
    let errors: number;
    let clientCpu = Number.NaN;
    let clientBusy = Number.NaN;
    if (name === 'direct') {
      const r = await runLoad(PROXY_CPU, [
        '--mode',
        'grpc',
        '--target',
        directTarget,
        '--duration',
        String(sec),
        '--warmup',
        String(warm),
        '--concurrency',
        String(concurrency),
      ]);
      ({ calls, rate, errors } = r);
      clientCpu = r.cpuUs / calls;
      clientBusy = r.cpuUs / (r.seconds * 1e6);
    } else {
      const w = await runWrkPost(porticoUrl, script, sec);
      ({ requests: calls, rps: rate, errors } = w);
    }
    const elapsed = (performance.now() - t0) * 1000;
    const proxyCpu = treeCpuMicros(porticoPid) - p0;
    const busy = cpuBusyMicros()[Number(PROXY_CPU)]! - busy0;
    // During a direct run cpu 0 carries the grpc-js client, so its noise is not read there.
    const noise = name === 'portico' ? Math.max(0, (busy - proxyCpu) / elapsed) : Number.NaN;
    const backendCpu = treeCpuMicros(backendPid) - b0;
    return {
      rate,
      proxyCpuPerCall: proxyCpu / calls,
      backendCpuPerCall: backendCpu / calls,
      clientCpuPerCall: clientCpu,
      backendBusy: backendCpu / elapsed,
      clientBusy,
      noise,
      errors,
    };
  };

  try {
    // ---- peak ----
    if (warmup > 0) {
      await measure('direct', warmup, 1);
      await measure('portico', warmup);
    }
    const peaks: { direct: Peak; portico: Peak }[] = [];
    for (let r = 0; r < rounds; r++) {
      const order: ('direct' | 'portico')[] = r % 2 === 0 ? ['direct', 'portico'] : ['portico', 'direct'];
      const round = {} as { direct: Peak; portico: Peak };
      for (const name of order) round[name] = await measure(name, duration);
      peaks.push(round);
      const d = round.direct;
      const p = round.portico;
      out(
        `round ${r + 1}: direct ${Math.round(d.rate)} calls/s (backend ${d.backendCpuPerCall.toFixed(1)} us/call ` +
          `${pct(d.backendBusy)}, client ${d.clientCpuPerCall.toFixed(1)} ${pct(d.clientBusy)}) | portico ${Math.round(p.rate)} req/s (portico ` +
          `${p.proxyCpuPerCall.toFixed(1)} us/call, backend ${p.backendCpuPerCall.toFixed(1)} ${pct(p.backendBusy)}, noise ` +
          `${(p.noise * 100).toFixed(0)}%) | ratio ${(p.rate / d.rate).toFixed(3)}` +
          (d.errors + p.errors > 0 ? ` | ${d.errors + p.errors} errors` : ''),
      );
    }
    const ratios = peaks.map((x) => x.portico.rate / x.direct.rate);
    const directRate = median(peaks.map((x) => x.direct.rate));
    const porticoRate = median(peaks.map((x) => x.portico.rate));
    const peakSummary = {
      directCallsPerSec: directRate,
      porticoReqPerSec: porticoRate,
      porticoCpuUsPerCall: median(peaks.map((x) => x.portico.proxyCpuPerCall)),
      backendCpuUsPerCallDirect: median(peaks.map((x) => x.direct.backendCpuPerCall)),
      backendCpuUsPerCallPortico: median(peaks.map((x) => x.portico.backendCpuPerCall)),
      directClientCpuUsPerCall: median(peaks.map((x) => x.direct.clientCpuPerCall)),
      worstNoise: Math.max(...peaks.map((x) => x.portico.noise)),
      ratios,
    };
    results.peak = peakSummary;

    // ---- latency at a fixed rate ----
    const rate = Math.max(1, Math.round(Math.min(directRate, porticoRate) / 2));
    out();
    out(`latency: open loop at ${rate} calls/s (half the smaller peak), ${rounds} rounds x ${latencyDuration} s each`);
    const lat: { direct: LoadResult; portico: LoadResult }[] = [];
    for (let r = 0; r < rounds; r++) {
      const order: ('direct' | 'portico')[] = r % 2 === 0 ? ['direct', 'portico'] : ['portico', 'direct'];
      const round = {} as { direct: LoadResult; portico: LoadResult };
      for (const name of order) {
        round[name] =
          name === 'direct'
            ? await runLoad(PROXY_CPU, [
                '--mode',
                'grpc',
                '--target',
                directTarget,
                '--rate',
                String(rate),
                '--duration',
                String(latencyDuration),
                '--warmup',
                '2',
              ])
            : await runLoad(LOAD_CPU, [
                '--mode',
                'http',
                '--target',
                `127.0.0.1:${proxyPort}`,
                '--rate',
                String(rate),
                '--duration',
                String(latencyDuration),
                '--warmup',
                '2',
                '--connections',
                String(connections),
              ]);
      }
      lat.push(round);
      const cell = (x: LoadResult) =>
        `p50 ${x.p50Ms.toFixed(2)} ms p99 ${x.medianWindowP99Ms.toFixed(2)} ms (worst 1 s ${Math.max(...x.windowP99Ms).toFixed(1)})` +
        (x.errors > 0 ? ` ${x.errors} errors` : '');
      out(`round ${r + 1}: direct ${cell(round.direct)} | portico ${cell(round.portico)}`);
    }
    const latencySummary = {
      rate,
      direct: {
        p50Ms: median(lat.map((x) => x.direct.p50Ms)),
        p99Ms: median(lat.map((x) => x.direct.medianWindowP99Ms)),
      },
      portico: {
        p50Ms: median(lat.map((x) => x.portico.p50Ms)),
        p99Ms: median(lat.map((x) => x.portico.medianWindowP99Ms)),
      },
    };
    results.latency = latencySummary;

    // ---- streams ----
    const memory: { wave: number; open: number; rssBytes: number; heapUsedBytes: number }[] = [];
    if (streamCount > 0) {
      // A fresh Portico with its inspector on, so each sample follows a full GC and no garbage of the peak phase.
      await portico.stop();
      const streamsPortico = await startPortico(true);
      const inspector = await connectInspectorMemory(inspectorUrl(streamsPortico.stderr()));
      const adminUrl = `http://127.0.0.1:${streamsPortico.adminPort}`;
      out();
      out(
        `streams: a fresh portico (pid ${streamsPortico.child.pid}, inspector on for GC), ${waves} waves of ${streamCount}`,
      );
      out(`server streams (a reply every ${streamInterval} ms each); each sample after a full GC`);
      const sample = async (wave: number, open: number): Promise<void> => {
        const m = await inspector.sample();
        memory.push({ wave, open, rssBytes: m.rss, heapUsedBytes: m.heapUsed });
        out(
          `wave ${wave}: ${String(open).padStart(5)} open  rss ${mb(m.rss).padStart(6)} MB  heap used ${mb(m.heapUsed).padStart(6)} MB` +
            `  external+buffers ${mb(m.external).padStart(5)} MB`,
        );
      };
      try {
        // One stream first, so the transcoder's channel and descriptors exist before the idle sample.
        const first = openStreams(streamsPortico.proxyPort, streamInterval);
        await first.grow(1);
        first.close();
        await new Promise((r) => setTimeout(r, 1000));
        await sample(0, 0);
        const steps = [200, 500, 1000].map((n) => Math.round((n * streamCount) / 1000)).filter((n) => n > 0);
        for (let wave = 1; wave <= waves; wave++) {
          const fds = await metric(adminUrl, 'portico_process_open_fds');
          const streams = openStreams(streamsPortico.proxyPort, streamInterval);
          try {
            for (const n of steps) {
              await streams.grow(n);
              await sample(wave, streams.open);
            }
          } finally {
            streams.close();
          }
          // Closed once Portico's open fds are back where they were before the wave (the client sockets are gone).
          await waitUntil(
            "the streams' sockets to close in portico",
            async () => (await metric(adminUrl, 'portico_process_open_fds')) <= fds + 2,
            { timeoutMs: 15_000, everyMs: 200 },
          );
          await new Promise((r) => setTimeout(r, 1000));
          await sample(wave, 0);
        }
      } finally {
        inspector.close();
        await streamsPortico.stop();
      }
      results.streams = memory;
    }

    // ---- summary ----
    out();
    out('summary (medians over rounds)');
    out(
      `  direct grpc-js      ${Math.round(directRate)} calls/s   backend ${peakSummary.backendCpuUsPerCallDirect.toFixed(1)} us/call   client ${peakSummary.directClientCpuUsPerCall.toFixed(1)} us/call`,
    );
    out(
      `  through portico     ${Math.round(porticoRate)} req/s     portico ${peakSummary.porticoCpuUsPerCall.toFixed(1)} us/call   backend ${peakSummary.backendCpuUsPerCallPortico.toFixed(1)} us/call`,
    );
    out(
      `  latency at ${rate}/s  direct p50 ${latencySummary.direct.p50Ms.toFixed(2)} ms p99 ${latencySummary.direct.p99Ms.toFixed(2)} ms | portico p50 ${latencySummary.portico.p50Ms.toFixed(2)} ms p99 ${latencySummary.portico.p99Ms.toFixed(2)} ms`,
    );
    out(
      `  noise on cpu ${PROXY_CPU} during portico rounds (largest): ${(peakSummary.worstNoise * 100).toFixed(0)}%${peakSummary.worstNoise > 0.05 ? '  (above 5%: rerun on a quiet machine)' : ''}`,
    );
    const ratio = median(ratios);
    out(`  throughput portico / direct: median ${ratio.toFixed(3)}  ${spread(ratios)}  rounds ${fmt(ratios)}`);
    out(`  ${ratio >= TARGET ? 'PASS' : 'FAIL'} throughput ratio ${ratio.toFixed(3)} >= ${TARGET}`);
    if (memory.length > 0) {
      const peakOf = (w: number) =>
        memory.filter(
          (m) => m.wave === w && m.open === Math.max(...memory.filter((x) => x.wave === w).map((x) => x.open)),
        )[0]!;
      const endOf = (w: number) => memory.filter((m) => m.wave === w && m.open === 0).pop()!;
      const base = memory[0]!;
      const p1 = peakOf(1);
      out(
        `  streams: ${mb(((p1.rssBytes - base.rssBytes) * 1000) / p1.open)} MB rss, ${mb(((p1.heapUsedBytes - base.heapUsedBytes) * 1000) / p1.open)} MB heap per 1,000 open streams (wave 1 over idle)`,
      );
      for (let w = 2; w <= waves; w++) {
        const pw = peakOf(w);
        const ew = endOf(w);
        const e1 = endOf(1);
        out(
          `  wave ${w} against wave 1: at ${pw.open} open rss ${(pw.rssBytes - p1.rssBytes) / 1048576 >= 0 ? '+' : ''}${mb(pw.rssBytes - p1.rssBytes)} MB heap ${mb(pw.heapUsedBytes - p1.heapUsedBytes)} MB; after close rss ${mb(ew.rssBytes - e1.rssBytes)} MB heap ${mb(ew.heapUsedBytes - e1.heapUsedBytes)} MB`,
        );
      }
    }
    const file = join(ROOT, 'bench/results/transcode.json');
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    out(`  written to bench/results/transcode.json`);
  } finally {
    await Promise.all([portico.stop(), backend.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
