/**
 * Load for the transcode bench, in its own process so its CPU stays apart from the measured ones. Two clients for
 * the same unary call (portico.test.Echo/Say with one short string):
 *   --mode grpc  a grpc-js client (proto-loader stubs, as an application would use) straight to the gRPC server;
 *   --mode http  an undici Pool posting the same message as JSON to `/portico.test.Echo/Say` (through Portico).
 * Closed loop (`--concurrency N` calls in flight, the next sent as one completes) for peak throughput, or open loop
 * (`--rate R` calls per second whether or not earlier ones came back, as paced-client.ts does) for latency.
 * Latency is taken per call in µs from the moment the call is handed to the client to its last byte.
 *
 *   node bench/transcode/load.ts --mode grpc|http --target 127.0.0.1:PORT --duration S
 *                                [--concurrency 50 | --rate R] [--warmup 1] [--connections 50]
 * Prints one JSON line: { calls, errors, seconds, rate, p50Ms, p99Ms, windowP99Ms, medianWindowP99Ms, cpuUs }, cpuUs
 * being this process's CPU time while it recorded (start-up and warm-up left out).
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_PROTO_LOADER_OPTIONS, TESTKIT_PROTOS_DIR } from '@portico/testkit';
import { Pool } from 'undici';
import { median, percentile } from '../lib/stats.ts';
import { SAY_MESSAGE, SAY_PATH } from './config.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    target: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '50' },
    rate: { type: 'string' },
    connections: { type: 'string', default: '50' },
  },
});
const mode = values.mode;
if (mode !== 'grpc' && mode !== 'http') throw new Error('--mode must be grpc or http');
if (!values.target) throw new Error('--target host:port is required');
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const concurrency = Number(values.concurrency);
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (!(durationMs > 0) || !(warmupMs >= 0)) throw new Error('--duration must be positive, --warmup not negative');
if (rate === undefined ? !(concurrency > 0) : !(rate > 0)) throw new Error('--concurrency or --rate must be positive');

type Done = (ok: boolean) => void;
type Call = (done: Done) => void;
let close: () => Promise<void>;
let call: Call;

if (mode === 'grpc') {
  const definition = protoLoader.loadSync('portico/test/echo.proto', {
    ...GRPC_PROTO_LOADER_OPTIONS,
    includeDirs: [TESTKIT_PROTOS_DIR],
  });
  const Echo = (grpc.loadPackageDefinition(definition).portico as grpc.GrpcObject).test as grpc.GrpcObject;
  const client = new (Echo.Echo as grpc.ServiceClientConstructor)(values.target, grpc.credentials.createInsecure());
  const say = client.Say!.bind(client) as (req: object, cb: (err: Error | null) => void) => void;
  call = (done) => say({ message: SAY_MESSAGE }, (err) => done(err === null));
  close = async () => client.close();
} else {
  const origin = `http://${values.target}`;
  const pool = new Pool(origin, { connections: Number(values.connections), pipelining: 1 });
  const body = JSON.stringify({ message: SAY_MESSAGE });
  const headers = { 'content-type': 'application/json' };
  call = (done) => {
    let status = 0;
    pool.dispatch(
      { origin, path: SAY_PATH, method: 'POST', headers, body },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode) {
          status = statusCode;
        },
        onResponseData() {},
        onResponseEnd() {
          done(status === 200);
        },
        onResponseError() {
          done(false);
        },
      },
    );
  };
  close = () => pool.close();
}

const capacity = Math.ceil(((rate ?? 200_000) * durationMs) / 1000) + 1024;
const latencies = new Float64Array(capacity);
const sentAt = new Float64Array(capacity);
let calls = 0;
let errors = 0;
let sent = 0;
let recording = false;
let stopped = false;
let t0 = performance.now();
let cpuAtStart = process.cpuUsage();

function send(then?: () => void): void {
  const start = performance.now();
  const record = recording;
  if (record) sent++;
  call((ok) => {
    if (record) {
      if (!ok) errors++;
      else if (calls < capacity) {
        sentAt[calls] = start - t0;
        latencies[calls++] = (performance.now() - start) * 1000;
      }
    }
    then?.();
  });
}

if (rate === undefined) {
  const loop = (): void => {
    if (!stopped) send(loop);
  };
  for (let i = 0; i < concurrency; i++) loop();
  await new Promise((r) => setTimeout(r, warmupMs));
  recording = true;
  t0 = performance.now();
  cpuAtStart = process.cpuUsage();
  await new Promise((r) => setTimeout(r, durationMs));
  recording = false;
  stopped = true;
} else {
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    // Timers fire at most every ~1 ms: each tick sends what the schedule says is due.
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      if (!recording && elapsed >= warmupMs) {
        recording = true;
        t0 = performance.now();
        cpuAtStart = process.cpuUsage();
        scheduled = 0;
        return;
      }
      if (recording && elapsed >= durationMs) {
        clearInterval(timer);
        recording = false;
        resolve();
        return;
      }
      const due = Math.floor((elapsed * rate) / 1000) - scheduled;
      for (let i = 0; i < due; i++) send();
      scheduled += Math.max(0, due);
    }, 1);
  });
}
const seconds = (performance.now() - t0) / 1000;
const usage = process.cpuUsage(cpuAtStart);
// Let calls in flight finish (they count if they were sent while recording).
const deadline = performance.now() + 2000;
while (calls + errors < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
await close();

// p99 of each one-second window (by send time): a stall of the machine spoils its windows, not the run.
const byWindow: number[][] = [];
for (let i = 0; i < calls; i++) {
  const w = Math.floor(sentAt[i]! / 1000);
  byWindow[w] ??= [];
  byWindow[w].push(latencies[i]!);
}
const windowP99Ms = byWindow.filter((w) => w.length > 0).map((w) => percentile(w, 99) / 1000);
const all = Array.from(latencies.subarray(0, calls));
process.stdout.write(
  `${JSON.stringify({
    calls,
    errors: errors + (sent - calls - errors),
    seconds,
    rate: calls / (rate === undefined ? seconds : durationMs / 1000),
    p50Ms: percentile(all, 50) / 1000,
    p99Ms: percentile(all, 99) / 1000,
    windowP99Ms,
    medianWindowP99Ms: median(windowP99Ms),
    cpuUs: usage.user + usage.system,
  })}\n`,
);
process.exit(0);
