/**
 * Open-loop constant-rate HTTP client (what wrk2 does, which this machine lacks).
 * Sends at a fixed overall rate whether or not earlier responses came back, so a slow proxy queues requests
 * instead of slowing the client down (no coordinated omission), and records each latency in microseconds
 * from the moment the request is handed to the connection pool to the last response byte.
 *
 * The first --warmup seconds run at the same rate but are not recorded (connection set-up, JIT).
 *
 * node bench/lib/paced-client.ts --url U --rate R --duration S [--warmup S] [--connections C] [--host H]
 * Prints one JSON line: { sent, completed, errors, rate, p50Ms, p90Ms, p99Ms, p999Ms, maxMs, cpuUs }.
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { serveBenchBackend } from '../proxy/backend.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    host: { type: 'string' },
    // Answer as the backend on this port in this process: the load core then runs one process, not two taking
    // turns in scheduler slices of milliseconds, which is what a latency tail measured there would show.
    'serve-port': { type: 'string' },
  },
});
const url = new URL(values.url ?? '');
const rate = Number(values.rate);
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
if (!(rate > 0) || !(durationMs > 0)) throw new Error('--rate and --duration must be positive');

const backend = values['serve-port'] ? await serveBenchBackend(Number(values['serve-port'])) : undefined;
const pool = new Pool(url.origin, { connections: Number(values.connections), pipelining: 1 });
const headers: Record<string, string> = values.host ? { host: values.host } : {};
const path = url.pathname + url.search;
const latencies = new Float64Array(Math.ceil((rate * durationMs) / 1000) + 1024);
// When each recorded request was sent (ms since recording began): p99 per one-second window.
const sentAt = new Float64Array(latencies.length);
let sent = 0;
let completed = 0;
let errors = 0;
let recording = false;

function send(): void {
  const start = process.hrtime.bigint();
  const record = recording;
  const sentMs = performance.now() - t0;
  if (record) sent++;
  let status = 0;
  pool.dispatch(
    { origin: url.origin, path, method: 'GET', headers },
    {
      onRequestStart() {},
      onResponseStart(_c, statusCode) {
        status = statusCode;
      },
      onResponseData() {},
      onResponseEnd() {
        if (!record) return;
        if (status < 200 || status >= 400) errors++;
        else if (completed < latencies.length) {
          sentAt[completed] = sentMs;
          latencies[completed++] = Number(process.hrtime.bigint() - start) / 1000;
        }
      },
      onResponseError() {
        if (record) errors++;
      },
    },
  );
}

let t0 = performance.now();
let scheduled = 0;
await new Promise<void>((resolve) => {
  // Timers fire at most every ~1 ms: each tick sends what the schedule says is due, so the rate is exact
  // over the run and requests leave in small bursts (rate/1000 per tick).
  const timer = setInterval(() => {
    const elapsed = performance.now() - t0;
    if (!recording && elapsed >= warmupMs) {
      recording = true;
      t0 = performance.now();
      scheduled = 0;
      return;
    }
    if (recording && elapsed >= durationMs) {
      clearInterval(timer);
      resolve();
      return;
    }
    const due = Math.floor((elapsed * rate) / 1000) - scheduled;
    for (let i = 0; i < due; i++) send();
    scheduled += Math.max(0, due);
  }, 1);
});
// Give in-flight requests a moment to finish, then report.
const deadline = performance.now() + 2000;
while (completed + errors < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
await pool.close().catch(() => {});
backend?.closeAllConnections();
backend?.close();

// p99 of each one-second window (by send time): a machine-wide stall spoils the windows it falls in, not the run.
const byWindow: number[][] = [];
for (let i = 0; i < completed; i++) {
  const w = Math.floor(sentAt[i]! / 1000);
  byWindow[w] ??= [];
  byWindow[w].push(latencies[i]!);
}
const windowP99Ms = byWindow.filter((w) => w.length > 0).map((w) => percentile(w, 99) / 1000);
const sorted = latencies.subarray(0, completed).sort();
const q = (p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000 : Number.NaN;
process.stdout.write(
  `${JSON.stringify({
    sent,
    completed,
    errors: errors + (sent - completed - errors),
    rate: completed / (durationMs / 1000),
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
    p999Ms: q(0.999),
    maxMs: sorted.length ? sorted[sorted.length - 1]! / 1000 : Number.NaN,
    windowP99Ms,
    // This process's own CPU since it started, so a caller can tell its load from foreign load.
    cpuUs: process.cpuUsage().user + process.cpuUsage().system,
  })}\n`,
);
