/** Runs wrk (closed loop, fixed connections) and parses its text report. */
import { execFile } from 'node:child_process';
import { pinned } from './proc.ts';

export interface WrkOptions {
  url: string;
  connections: number;
  durationSec: number;
  threads?: number;
  headers?: Record<string, string>;
  /** taskset cpu list for wrk itself. */
  cpus?: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Non-2xx/3xx responses plus socket errors. */
  errors: number;
  latencyMs: { p50: number; p99: number };
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

export function parseWrk(text: string): WrkResult {
  const total = text.match(/(\d+) requests in ([\d.]+)(ms|s|m)/);
  if (!total) throw new Error(`unexpected wrk output: ${text.slice(0, 400)}`);
  const requests = Number(total[1]);
  const seconds = toMs(total[2]!, total[3]!) / 1000;
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? requests / seconds);
  let errors = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  if (sock) errors += Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]);
  const pct = (p: string): number => {
    const m = text.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`));
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  return { requests, seconds, rps, errors, latencyMs: { p50: pct('50'), p99: pct('99') } };
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads ?? 1}`, `-c${o.connections}`, `-d${o.durationSec}s`, '--latency'];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const [cmd, argv] = pinned(o.cpus, 'wrk', args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: (o.durationSec + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk failed: ${err.message} ${stderr}`));
      try {
        resolve(parseWrk(stdout));
      } catch (e) {
        reject(e);
      }
    });
  });
}
