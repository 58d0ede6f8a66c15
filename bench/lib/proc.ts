/**
 * Process helpers for benchmarks: CPU time of a process tree from /proc, CPU pinning with taskset,
 * and spawning a child that announces readiness on stdout.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { terminate } from '@portico/testkit';

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we know, asked anyway). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/**
 * CPU time (user + system, all threads) in microseconds of `pid` and every live descendant,
 * so a proxy that forks workers is measured whole.
 */
export function treeCpuMicros(pid: number): number {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const s = readStat(p);
    if (s) stats.set(p, s);
  }
  const wanted = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, s] of stats) {
      if (!wanted.has(p) && wanted.has(s.ppid)) {
        wanted.add(p);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const p of wanted) ticks += stats.get(p)?.ticks ?? 0;
  return (ticks * 1e6) / clockTicksPerSecond();
}

export function cpuCount(): number {
  return availableParallelism();
}

export const hasTaskset = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');

/** Prefix a command with `taskset -c <cpus>` when taskset exists and a cpu list is given. */
export function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  if (!cpus || !hasTaskset) return [command, args];
  return ['taskset', ['-c', cpus, command, ...args]];
}

export interface Spawned {
  child: ChildProcess;
  /** Captured from `ready` (the regular expression's groups). */
  match: RegExpMatchArray;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a process (taskset execs in place, so the pid is the program's) and resolves when a stdout line
 * matches `ready`. Rejects with the tail of stderr if it exits or times out first.
 */
export function spawnReady(
  command: string,
  args: string[],
  ready: RegExp,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Spawned> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  const stop = (): Promise<void> => terminate(child, undefined, 3000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`not ready after ${options.timeoutMs ?? 20_000} ms: ${err.trim().slice(-800)}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (d: string): void => {
      out = (out + d).slice(-8000);
      const m = out.match(ready);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining so the child never blocks on a full pipe
      resolve({ child, match: m, stderr: () => err, stop });
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? code}) before ready: ${err.trim().slice(-800) || out.trim().slice(-800)}`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Time each cpu spent running processes (user, nice, system) or lost to the hypervisor (steal), in microseconds,
 * from /proc/stat. irq and softirq are left out: loopback TCP work lands there without being charged to any
 * process, so counting it would call the proxy's own networking "foreign".
 */
export function cpuBusyMicros(): number[] {
  const hz = clockTicksPerSecond();
  const busy: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^cpu(\d+) (.*)$/);
    if (!m) continue;
    const [user, nice, system, , , , , steal] = m[2]!.trim().split(/\s+/).map(Number);
    busy[Number(m[1])] = ((user! + nice! + system! + (steal ?? 0)) * 1e6) / hz;
  }
  return busy;
}
