/**
 * The whole discovery pipeline at scale, with real processes: a real ZooKeeper (testkit) holding N services x M
 * instances (default 5,000 x 10), a real nats-server, `portico discovery-syncer` and `portico front-proxy` as two child
 * processes of the `portico` binary, and R Routes (default 1,000: 80% name a discovered service with
 * `backendRefs: [{registry: zk, ...}]`, the rest a static Service). Layouts (`--layout`): `spring` (default), Spring
 * Cloud Zookeeper / Curator instances `/services/<name>/<id>`, whose listing reads every instance's JSON; `dubbo`,
 * Dubbo interface-level providers `/dubbo/<interface>/providers/<URL>`, names only. The first 5 services have all
 * their instances on real echo backends (tri:// providers for dubbo) so routing is checked with real requests; the
 * others point at 10.x addresses that are never dialled.
 *
 * Measured from /proc (VmRSS, VmHWM, utime+stime) of the syncer and the proxy, their /metrics and their logs, and the
 * bench's own NATS watch; printed as one table, a row per figure, as each phase ends:
 * 1. full initial sync: from the Registry write to the syncer's "registry listed" log, the first and the last of the
 *    N EndpointSets in NATS, the proxy showing all N (/metrics `portico_discovery_endpoints`), the first request
 *    routed to a discovered service; CPU of both, the proxy's snapshot compiles (from its "config applied" logs);
 * 2. RSS idle before the Registry (the proxy then has R routes and no EndpointSets) and after the sync, VmHWM, heap
 *    after a forced GC (through --inspect), idle CPU, and what one /metrics scrape costs the loaded proxy;
 * 3. one instance added to the loaded registry until the proxy routes to it (p50/p99 over 20, after 2 warm-ups);
 * 4. full resync: ZooKeeper stopped until all N sets are stale, started again until all are fresh (stale=false).
 *    If that takes over 30 s, the row says so and ZooKeeper is restarted once more with jute.maxbuffer at 16 MB (the
 *    README explains why), so the resync is still measured.
 * Baselines, same run, each in a process of its own: the ZooKeeper source alone listing the same tree (what
 * zookeeper-scale.ts measures), a bus watcher alone loading the N sets from NATS, and the proxy idle with no sets.
 * `--profile` runs V8's CPU profiler in both processes through each timed phase and prints where the time went.
 * Resources are written with @portico/bus's NATS bus (what `portico apply --nats` does), so the write is timed.
 *
 * Run: npm run bench:discovery:scale -- [--layout spring|dubbo] [--services 5000] [--per-service 10]
 *      [--routes 1000] [--changes 20] [--idle-seconds 10] [--profile]        (~1.5 min on 2 cores)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type ConfigBus, type ConfigState, createNatsBus } from '@portico/bus';
import { API_VERSION, type EndpointSet, endpointSetName, type Resource } from '@portico/config';
import { BUILTIN_SOURCES, type SpecOf } from '@portico/discovery';
import {
  type Backend,
  PORTICO_BIN,
  startEchoBackend,
  startNatsServer,
  startZooKeeper,
  terminate,
} from '@portico/testkit';
import { CreateMode } from 'node-zookeeper-client';
import { clockTicksPerSecond, cpuCount } from '../lib/proc.ts';
import { percentile } from '../lib/stats.ts';
import {
  call,
  connectWriter,
  dubboUrl,
  javaUrlEncode,
  loadDubbo,
  loadSpring,
  pipelined,
  print,
  springInstance,
  TimingSink,
} from './zookeeper-writers.ts';

const REGISTRY = 'zk';
const SERVICES_ROOT = '/services';
const DUBBO_ROOT = '/dubbo';
/** Services whose every instance is a real echo backend (routing is checked on them). */
const ECHO_SERVICES = 5;
/** How long a resync may take before the bench calls it stuck. */
const RESYNC_WAIT_MS = 30_000;

type Writer = Awaited<ReturnType<typeof connectWriter>>;

/** One way services sit in ZooKeeper. */
interface Layout {
  what: string;
  /** n services x m instances; the first ECHO_SERVICES services' instances on the echo backends. */
  load(writer: Writer, n: number, m: number, echoes: readonly Backend[]): Promise<void>;
  /** Service s as the registry names it (EndpointSet spec.service). */
  service(s: number): string;
  backendRef(s: number): { registry: string; name: string; version?: string };
  /** One more instance of service 0 on 127.0.0.1:port (the k-th such); resolves to its removal. */
  addInstance(writer: Writer, k: number, port: number): Promise<() => Promise<unknown>>;
}

const app = (s: number) => `bench-app-${s}`;
/** The instance ids loadSpring writes. */
const instanceId = (s: number, i: number) => `00000000-0000-4000-8000-${String(s * 100 + i).padStart(12, '0')}`;

const SPRING: Layout = {
  what: `Spring Cloud Zookeeper instances, ${SERVICES_ROOT}/<name>/<id> (every instance's JSON is read)`,
  async load(writer, n, m, echoes) {
    await loadSpring(writer, SERVICES_ROOT, n, m);
    await pipelined(ECHO_SERVICES * m, 64, (k) => {
      const s = Math.floor(k / m);
      const i = k % m;
      const json = Buffer.from(JSON.stringify(springInstance(app(s), instanceId(s, i), '127.0.0.1', echoes[i]!.port)));
      return call((cb) => writer.setData(`${SERVICES_ROOT}/${app(s)}/${instanceId(s, i)}`, json, cb));
    });
  },
  service: app,
  backendRef: (s) => ({ registry: REGISTRY, name: app(s) }),
  async addInstance(writer, k, port) {
    const id = `00000000-0000-4000-9000-${String(k).padStart(12, '0')}`;
    const path = `${SERVICES_ROOT}/${app(0)}/${id}`;
    const json = Buffer.from(JSON.stringify(springInstance(app(0), id, '127.0.0.1', port)));
    await call((cb) => writer.create(path, json, CreateMode.EPHEMERAL, cb));
    return () => call((cb) => writer.remove(path, (err) => cb(err, undefined)));
  },
};

const iface = (s: number) => `com.example.bench.Service${s}`;
/** Triple (HTTP) providers, so the proxy can route to the echo backends; plain dubbo:// ones are the transcoder's. */
const triNode = (s: number, port: number, extra: Record<string, string> = {}) =>
  `${DUBBO_ROOT}/${iface(s)}/providers/${javaUrlEncode(dubboUrl(iface(s), '127.0.0.1', port, extra).replace(/^dubbo:/, 'tri:'))}`;

const DUBBO: Layout = {
  what: `Dubbo interface-level providers, ${DUBBO_ROOT}/<interface>/providers/<URL> (node names only)`,
  async load(writer, n, m, echoes) {
    await loadDubbo(writer, DUBBO_ROOT, n, m);
    await pipelined(ECHO_SERVICES, 8, async (s) => {
      const dir = `${DUBBO_ROOT}/${iface(s)}/providers`;
      const children = await call<string[]>((cb) => writer.getChildren(dir, cb));
      const tx = writer.transaction();
      for (const child of children) tx.remove(`${dir}/${child}`);
      for (let i = 0; i < m; i++)
        tx.create(triNode(s, echoes[i]!.port), Buffer.from('127.0.0.1'), CreateMode.PERSISTENT);
      return call((cb) => tx.commit(cb));
    });
  },
  service: (s) => `providers:${iface(s)}:1.0.0:`,
  backendRef: (s) => ({ registry: REGISTRY, name: iface(s), version: '1.0.0' }),
  async addInstance(writer, k, port) {
    const path = triNode(0, port, { timestamp: String(1_700_000_000_000 + k) });
    await call((cb) => writer.create(path, Buffer.from('127.0.0.1'), CreateMode.EPHEMERAL, cb));
    return () => call((cb) => writer.remove(path, (err) => cb(err, undefined)));
  },
};

const LAYOUTS: Record<string, Layout> = { spring: SPRING, dubbo: DUBBO };

// --- /proc -------------------------------------------------------------------------------------------------------

interface ProcSample {
  rssKb: number;
  hwmKb: number;
  cpuMs: number;
}

function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may hold spaces: fields after the last ')' start at field 3 (state); utime is 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuMs: (ticks * 1000) / clockTicksPerSecond() };
}

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (a: number, b: number) => (b > 0 ? `x${(a / b).toFixed(2)}` : '');

// --- the source alone (baseline), in a process of its own -----------------------------------------------------------

async function sourceChild(connectString: string): Promise<void> {
  const gc = globalThis.gc as () => void;
  gc();
  const before = procSample(process.pid);
  const heapBefore = process.memoryUsage().heapUsed;
  const sink = new TimingSink();
  const spec: SpecOf<'zookeeper'> = {
    type: 'zookeeper',
    addresses: [connectString],
    dubboRoot: DUBBO_ROOT,
    servicesRoot: SERVICES_ROOT,
    sessionTimeout: '15s',
    refreshInterval: '60s',
  };
  const source = BUILTIN_SOURCES.zookeeper!({ name: REGISTRY, spec, sink });
  const t0 = performance.now();
  await source.start();
  const listMs = performance.now() - t0;
  const after = procSample(process.pid);
  gc();
  const held = procSample(process.pid);
  const heapHeld = process.memoryUsage().heapUsed;
  const endpoints = sink.last.reduce((n, s) => n + s.endpoints.length, 0);
  await source.stop();
  process.stdout.write(
    `${JSON.stringify({
      listMs,
      cpuMs: after.cpuMs - before.cpuMs,
      services: sink.last.length,
      endpoints,
      rssBeforeKb: before.rssKb,
      rssHeldKb: held.rssKb,
      hwmKb: after.hwmKb,
      heapGrowthMb: (heapHeld - heapBefore) / 1024 / 1024,
    })}\n`,
  );
}

/**
 * A bus watcher alone loading every EndpointSet from NATS (what the proxy and the syncer each hold besides their own
 * work), in a process of its own. Memory is measured after connecting, so it is the state, not the NATS client.
 */
async function busChild(url: string, n: number): Promise<void> {
  const gc = globalThis.gc as () => void;
  const bus = await createNatsBus({ servers: url, name: 'bench-bus-alone' });
  gc();
  const before = procSample(process.pid);
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let state: ConfigState | undefined;
  const watch = await bus.watch((s) => {
    state = s;
  });
  const loadMs = performance.now() - t0;
  const after = procSample(process.pid);
  const sets = state === undefined ? 0 : countSets(state, () => true);
  gc();
  const held = procSample(process.pid);
  const heapHeld = process.memoryUsage().heapUsed;
  watch.stop();
  await bus.close();
  if (sets !== n) throw new Error(`the bus alone loaded ${sets} sets, not ${n}`);
  process.stdout.write(
    `${JSON.stringify({
      loadMs,
      cpuMs: after.cpuMs - before.cpuMs,
      rssGrowthKb: held.rssKb - before.rssKb,
      heapGrowthMb: (heapHeld - heapBefore) / 1024 / 1024,
    })}\n`,
  );
}

// --- portico child processes ---------------------------------------------------------------------------------------

interface LogCounters {
  applies: number;
  applyMs: number;
  applyMaxMs: number;
  listed: number[];
  down: number;
  errors: number;
  lastError: string;
  /** The last lines other than access logs, for the report when a phase times out. */
  recent: string[];
}

interface Service {
  name: string;
  child: ChildProcess;
  pid: number;
  adminUrl: string;
  proxyUrl: string;
  logs: LogCounters;
  stop(): Promise<void>;
  /** Its inspector session (opened on first use). */
  inspector(): Inspector;
}

/** A DevTools protocol session on a child started with --inspect (the bench's only way to force a GC in it). */
class Inspector {
  readonly #url: string;
  #ws: WebSocket | undefined;
  #id = 0;
  readonly #replies = new Map<number, (msg: { result?: unknown; error?: { message: string } }) => void>();

  constructor(url: string) {
    this.#url = url;
  }

  async send<T>(method: string, params: object = {}): Promise<T> {
    if (this.#ws === undefined) {
      if (this.#url === '') throw new Error('no inspector URL');
      const ws = new WebSocket(this.#url);
      ws.onmessage = (event) => {
        const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
        if (msg.id !== undefined) this.#replies.get(msg.id)?.(msg);
      };
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      this.#ws = ws;
    }
    const id = ++this.#id;
    const msg = await new Promise<{ result?: unknown; error?: { message: string } }>((resolve) => {
      this.#replies.set(id, resolve);
      this.#ws!.send(JSON.stringify({ id, method, params }));
    });
    this.#replies.delete(id);
    if (msg.error !== undefined) throw new Error(`${method}: ${msg.error.message}`);
    return msg.result as T;
  }

  /** process.memoryUsage() in MB right after a full GC. */
  async heapAfterGc(): Promise<{ heapUsed: number; external: number; arrayBuffers: number }> {
    await this.send('HeapProfiler.collectGarbage');
    const r = await this.send<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(r.result.value) as Record<string, number>;
    const toMb = (b: number | undefined) => (b ?? 0) / 1024 / 1024;
    return { heapUsed: toMb(usage.heapUsed), external: toMb(usage.external), arrayBuffers: toMb(usage.arrayBuffers) };
  }

  async startProfile(): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: 1000 });
    await this.send('Profiler.start');
  }

  async stopProfile(): Promise<CpuProfile> {
    const { profile } = await this.send<{ profile: CpuProfile }>('Profiler.stop');
    return profile;
  }

  /** Detaches (a later send() attaches again). */
  close(): void {
    this.#ws?.close();
    this.#ws = undefined;
  }
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a workspace package, a dependency, Node itself, or V8's own entries. */
function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const ws = /\/(libs|services)\/([^/]+)\/src\//.exec(url);
  if (ws !== null) return `${ws[1]}/${ws[2]}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep !== null) return dep[1]!;
  if (url.startsWith('node:')) return 'node:';
  return url.replace(/^.*\//, '');
}

/** Self time by code area and the hottest functions, as a few printable lines. */
function summarize(profile: CpuProfile, top: number): string[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const f = nodes.get(id)!;
    if (f.functionName === '(idle)') return;
    total += us;
    const a = area(f.url, f.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    const where =
      f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|libs|services)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  });
  const pct = (us: number) => `${((100 * us) / Math.max(total, 1)).toFixed(0)}%`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `busy ${(total / 1000).toFixed(0)} ms: ${sorted(byArea)
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(', ')}`,
    ...sorted(byFn).map(([k, v]) => `  ${pct(v).padStart(4)} ${k}`),
  ];
}

/** Spawns `portico <command>`, reads its JSON log lines (counting what the bench reports) until it exits. */
function startService(name: string, command: string, args: string[]): Promise<Service> {
  // The inspector (no session attached until first used) lets the bench force a GC and profile by phase.
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', PORTICO_BIN, command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogCounters = {
    applies: 0,
    applyMs: 0,
    applyMaxMs: 0,
    listed: [],
    down: 0,
    errors: 0,
    lastError: '',
    recent: [],
  };
  let tail = '';
  let inspector = '';
  let session: Inspector | undefined;
  let buffered = '';
  let onLine: ((line: string) => void) | undefined;
  const line = (text: string) => {
    onLine?.(text);
    if (!text.includes('"msg":"access"')) {
      logs.recent.push(text.slice(0, 600));
      if (logs.recent.length > 30) logs.recent.shift();
    }
    if (text.includes('portico:proxy:config-applied')) {
      const ms = Number(/"durationMs":([\d.]+)/.exec(text)?.[1] ?? 0);
      logs.applies++;
      logs.applyMs += ms;
      logs.applyMaxMs = Math.max(logs.applyMaxMs, ms);
    } else if (text.includes('portico:discovery:synced')) logs.listed.push(performance.now());
    else if (text.includes('portico:discovery:down')) logs.down++;
    else if (/"level":(50|60)/.test(text)) {
      logs.errors++;
      logs.lastError = text.slice(0, 400);
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      line(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-2000);
    inspector ||= /Debugger listening on (ws:\/\/\S+)/.exec(tail)?.[1] ?? '';
  });
  const stop = (): Promise<void> => {
    session?.close();
    return terminate(child);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start: ${tail}`));
    }, 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening: ${tail}`));
    });
    onLine = (text) => {
      const m = /portico listening:(?: proxy http:\/\/[^:]+:(\d+))?(?: https:\/\/\S+)? admin http:\/\/[^:]+:(\d+)/.exec(
        text,
      );
      if (m === null) return;
      clearTimeout(timer);
      onLine = undefined;
      resolve({
        name,
        child,
        pid: child.pid!,
        proxyUrl: `http://127.0.0.1:${m[1] ?? 0}`,
        adminUrl: `http://127.0.0.1:${m[2]}`,
        logs,
        stop,
        inspector: () => {
          session ??= new Inspector(inspector);
          return session;
        },
      });
    };
  });
}

interface Scrape {
  ms: number;
  bytes: number;
  /** Services whose healthy endpoint count equals the expected one. */
  full: number;
  services: number;
  stale: number;
  lagMaxMs: number;
}

/** Reads a portico /metrics: discovered services as the process sees them, event-loop lag since the last scrape. */
async function scrape(adminUrl: string, perService: number): Promise<Scrape> {
  const t0 = performance.now();
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const ms = performance.now() - t0;
  let full = 0;
  let services = 0;
  let stale = 0;
  for (const m of text.matchAll(/^portico_discovery_endpoints\{[^}]*state="healthy"[^}]*\} (\d+)$/gm)) {
    services++;
    if (Number(m[1]) === perService) full++;
  }
  for (const _ of text.matchAll(/^portico_discovery_stale\{[^}]*\} 1$/gm)) stale++;
  const num = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    ms,
    bytes: text.length,
    full,
    services,
    stale,
    lagMaxMs: num('portico_nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

// --- what NATS holds, from the bench's own watch ---------------------------------------------------------------------

/**
 * Follows the bus with a watch. Cheap checks (one key) run on every state; counts over every set run at most every
 * 20 ms, so the bench's own CPU stays small next to the processes it measures.
 */
class NatsView {
  state: ConfigState | undefined;
  firstSetAt: number | undefined;
  #cheap = new Set<(state: ConfigState) => void>();
  #full = new Set<(state: ConfigState) => void>();
  #timer: NodeJS.Timeout | undefined;

  onState(state: ConfigState): void {
    this.state = state;
    if (this.firstSetAt === undefined && state.get('EndpointSet').size > 0) this.firstSetAt = performance.now();
    for (const check of [...this.#cheap]) check(state);
    if (this.#full.size > 0) this.#timer ??= setTimeout(() => this.#runFull(), 20);
  }

  #runFull(): void {
    this.#timer = undefined;
    if (this.state !== undefined) for (const check of [...this.#full]) check(this.state);
  }

  /** Resolves with the time at which `done` first held. */
  until(
    what: string,
    done: (state: ConfigState) => boolean,
    opts: { full: boolean; timeoutMs: number },
  ): Promise<number> {
    const set = opts.full ? this.#full : this.#cheap;
    return new Promise((resolve, reject) => {
      const check = (state: ConfigState) => {
        if (!done(state)) return;
        set.delete(check);
        clearTimeout(timer);
        resolve(performance.now());
      };
      const timer = setTimeout(() => {
        set.delete(check);
        reject(new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}`));
      }, opts.timeoutMs);
      set.add(check);
      if (this.state !== undefined) check(this.state);
    });
  }
}

function countSets(state: ConfigState, test: (set: EndpointSet) => boolean): number {
  let n = 0;
  for (const set of state.get('EndpointSet').values()) if (set.spec.registry === REGISTRY && test(set)) n++;
  return n;
}

// --- requests through the proxy ------------------------------------------------------------------------------------

async function get(url: string): Promise<{ status: number; backend: string | null }> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return { status: res.status, backend: res.headers.get('x-backend') };
  } catch {
    return { status: 0, backend: null };
  }
}

async function waitUntil(what: string, timeoutMs: number, everyMs: number, test: () => Promise<boolean>) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await test()) return performance.now();
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// --- the run -------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '5000' },
      'per-service': { type: 'string', default: '10' },
      routes: { type: 'string', default: '1000' },
      changes: { type: 'string', default: '20' },
      'idle-seconds': { type: 'string', default: '10' },
      layout: { type: 'string', default: 'spring' },
      profile: { type: 'boolean', default: false },
    },
  });
  const layout = LAYOUTS[values.layout];
  if (layout === undefined) throw new Error(`--layout must be one of ${Object.keys(LAYOUTS).join(', ')}`);
  const N = Number(values.services);
  const M = Number(values['per-service']);
  const R = Number(values.routes);
  const CHANGES = Number(values.changes);
  const IDLE_MS = Number(values['idle-seconds']) * 1000;
  const discoveredRoutes = Math.min(N, Math.round(R * 0.8));
  if (!(N >= ECHO_SERVICES && M >= 1 && R >= ECHO_SERVICES && CHANGES >= 1))
    throw new Error(`need --services >= ${ECHO_SERVICES}, --per-service >= 1, --routes >= ${ECHO_SERVICES}`);

  // Rows are printed as each phase ends, so a phase that fails still leaves the ones before it.
  const row = (label: string, value: string, baseline = '', r = '') =>
    print(`${label.padEnd(62)} ${value.padEnd(24)} ${baseline.padEnd(26)} ${r}`);
  const cleanups: Array<() => Promise<unknown>> = [];
  let diagnose: (() => Promise<void>) | undefined;
  const started = performance.now();
  try {
    const [nats, zk] = await Promise.all([startNatsServer(), startZooKeeper()]);
    cleanups.push(
      () => nats.stop(),
      () => zk.stop(),
    );
    const echoes: Backend[] = await Promise.all(Array.from({ length: M }, (_, i) => startEchoBackend(`echo-${i}`)));
    const marker = await startEchoBackend('marker');
    const staticEcho = await startEchoBackend('static');
    for (const b of [...echoes, marker, staticEcho]) cleanups.push(() => b.close());

    const writer = await connectWriter(zk.connectString);
    cleanups.push(async () => writer.close());
    let t = performance.now();
    await layout.load(writer, N, M, echoes);
    const loadMs = performance.now() - t;
    print(
      `${N} services x ${M} instances in ZooKeeper (${layout.what}, written in ` +
        `${secs(loadMs)}), ${R} routes (${discoveredRoutes} to discovered services), ${cpuCount()} cpus, ` +
        `load average ${loadavg()[0]!.toFixed(2)} at the start`,
    );
    print('');
    print(`${'phase / metric'.padEnd(62)} ${'value'.padEnd(24)} ${'baseline'.padEnd(26)} ratio`);

    // Baseline: the source alone, same tree, own process.
    const child = spawnSync(process.execPath, ['--expose-gc', process.argv[1]!, '--source-child', zk.connectString], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (child.status !== 0) throw new Error(`source-alone run failed: ${child.stderr}`);
    const alone = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      listMs: number;
      cpuMs: number;
      services: number;
      endpoints: number;
      rssBeforeKb: number;
      rssHeldKb: number;
      hwmKb: number;
      heapGrowthMb: number;
    };
    if (alone.services !== N || alone.endpoints !== N * M)
      throw new Error(`the source alone listed ${alone.services} services, ${alone.endpoints} endpoints`);
    const aloneGrowth = alone.rssHeldKb - alone.rssBeforeKb;
    row('0. ZooKeeper source alone (own process): full listing', secs(alone.listMs));
    row(
      '   its CPU / RSS growth, listing held / VmHWM',
      `${alone.cpuMs.toFixed(0)} ms / ${mb(aloneGrowth)} / ${mb(alone.hwmKb)}`,
    );
    row('   its heap growth, listing held (after GC)', `${alone.heapGrowthMb.toFixed(0)} MB`);

    // The two processes, and the bench's own bus.
    const [syncer, proxy] = await Promise.all([
      startService('syncer', 'discovery-syncer', ['--nats', nats.url, '--admin-port', '0']),
      startService('proxy', 'front-proxy', ['--nats', nats.url, '--proxy-port', '0', '--admin-port', '0']),
    ]);
    cleanups.push(
      () => proxy.stop(),
      () => syncer.stop(),
    );
    const bus: ConfigBus = await createNatsBus({ servers: nats.url, name: 'bench' });
    cleanups.push(() => bus.close());
    const view = new NatsView();
    const watch = await bus.watch((state) => view.onState(state));
    cleanups.push(async () => watch.stop());
    const both = () => ({ syncer: procSample(syncer.pid), proxy: procSample(proxy.pid) });
    // --profile: V8's CPU profiler in both processes for each timed phase (1 ms sampling), summarized at the end.
    const profiles: Array<{ phase: string; syncer: CpuProfile; proxy: CpuProfile }> = [];
    const profStart = async () => {
      if (values.profile) await Promise.all([syncer.inspector().startProfile(), proxy.inspector().startProfile()]);
    };
    const profStop = async (phase: string) => {
      if (!values.profile) return;
      const [s, p] = await Promise.all([syncer.inspector().stopProfile(), proxy.inspector().stopProfile()]);
      profiles.push({ phase, syncer: s, proxy: p });
    };
    diagnose = async () => {
      const s = view.state;
      if (s !== undefined)
        print(
          `NATS: ${countSets(s, () => true)} sets of ${REGISTRY}, ${countSets(s, (x) => x.spec.stale)} stale, ` +
            `${countSets(s, (x) => !x.spec.stale && x.spec.endpoints.length === M)} fresh with ${M} endpoints`,
        );
      const p = await scrape(proxy.adminUrl, M).catch(() => undefined);
      if (p) print(`proxy /metrics: ${p.services} services, ${p.full} with ${M} healthy, ${p.stale} stale`);
      const now = both();
      for (const svc of [syncer, proxy]) {
        const { recent, ...counters } = svc.logs;
        const proc = now[svc.name as 'syncer' | 'proxy'];
        print(
          `${svc.name}: RSS ${mb(proc.rssKb)}, CPU ${proc.cpuMs.toFixed(0)} ms, ${JSON.stringify({ ...counters, listed: counters.listed.length })}`,
        );
        for (const line of recent.slice(-12)) print(`  ${line}`);
      }
    };
    await sleep(1000);
    const fresh = both();

    const resources: Resource[] = [
      {
        apiVersion: API_VERSION,
        kind: 'Service',
        metadata: { name: 'static-echo' },
        spec: { endpoints: [{ address: '127.0.0.1', port: staticEcho.port }] },
      } as Resource,
    ];
    for (let i = 0; i < R; i++) {
      const backendRefs = i < discoveredRoutes ? [layout.backendRef(i)] : [{ name: 'static-echo' }];
      resources.push({
        apiVersion: API_VERSION,
        kind: 'Route',
        metadata: { name: `route-${i}` },
        spec: { rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/svc/${i}` } }], backendRefs }] },
      } as Resource);
    }
    t = performance.now();
    await pipelined(resources.length, 32, (k) => bus.put(resources[k]!));
    await waitUntil('the proxy to route the routes', 60_000, 50, async () => {
      const r = await get(`${proxy.proxyUrl}/svc/${R - 1}/x`);
      return r.status === 200 && r.backend === 'static';
    });
    const routesMs = performance.now() - t;

    // Idle, before the Registry: R routes, no EndpointSets (the proxy's baseline).
    await sleep(2000);
    let a = both();
    await sleep(IDLE_MS);
    let b = both();
    const idleBefore = {
      syncerCpu: ((b.syncer.cpuMs - a.syncer.cpuMs) * 1000) / IDLE_MS,
      proxyCpu: ((b.proxy.cpuMs - a.proxy.cpuMs) * 1000) / IDLE_MS,
      ...b,
    };
    const idleScrape = await scrape(proxy.adminUrl, M);
    await scrape(syncer.adminUrl, M); // resets its lag histogram before the sync
    const heapBefore = { syncer: await syncer.inspector().heapAfterGc(), proxy: await proxy.inspector().heapAfterGc() };
    if (!values.profile) for (const svc of [syncer, proxy]) svc.inspector().close();
    const beforeGc = both();

    // Peak RSS by phase, sampled every 100 ms (VmHWM is the lifetime peak).
    const peak = { syncer: 0, proxy: 0 };
    const sampler = setInterval(() => {
      try {
        const now = both();
        peak.syncer = Math.max(peak.syncer, now.syncer.rssKb);
        peak.proxy = Math.max(peak.proxy, now.proxy.rssKb);
      } catch {
        // a process is gone: the phase waiting on it fails with its own message
      }
    }, 100);
    cleanups.push(async () => clearInterval(sampler));

    // 1. Full initial sync.
    const appliesBefore = { count: proxy.logs.applies, ms: proxy.logs.applyMs };
    proxy.logs.applyMaxMs = 0;
    await profStart();
    a = both();
    const t0 = performance.now();
    await bus.put({
      apiVersion: API_VERSION,
      kind: 'Registry',
      metadata: { name: REGISTRY },
      spec: { type: 'zookeeper', addresses: [zk.connectString], refreshInterval: '60s' },
    } as Resource);
    let routedAt: number | undefined;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const r = await get(`${proxy.proxyUrl}/svc/0/probe`);
        if (r.status === 200 && r.backend?.startsWith('echo-')) {
          routedAt = performance.now();
          return;
        }
        await sleep(50);
      }
    })();
    const allInNats = await view.until(
      `${N} fresh EndpointSets in NATS`,
      (s) => countSets(s, (set) => !set.spec.stale && set.spec.endpoints.length === M) === N,
      { full: true, timeoutMs: 240_000 },
    );
    let proxyLagMax = 0;
    const proxyShows = await waitUntil('the proxy to show every service', 120_000, 250, async () => {
      const s = await scrape(proxy.adminUrl, M);
      proxyLagMax = Math.max(proxyLagMax, s.lagMaxMs);
      return s.full === N && s.stale === 0;
    });
    b = both();
    await profStop('1. full sync');
    probing = false;
    await probe;
    const syncerScrape = await scrape(syncer.adminUrl, M);
    const listedAt = syncer.logs.listed.find((x) => x > t0);
    const sync = { syncerCpu: b.syncer.cpuMs - a.syncer.cpuMs, proxyCpu: b.proxy.cpuMs - a.proxy.cpuMs, ...peak };
    const vsAlone = `source alone ${secs(alone.listMs)}`;
    row(
      '1. Registry write -> syncer logs "registry listed"',
      listedAt ? secs(listedAt - t0) : '?',
      vsAlone,
      listedAt ? ratio(listedAt - t0, alone.listMs) : '',
    );
    row('   Registry write -> first EndpointSet in NATS', view.firstSetAt ? secs(view.firstSetAt - t0) : '?');
    row(
      `   Registry write -> all ${N} EndpointSets in NATS`,
      secs(allInNats - t0),
      vsAlone,
      ratio(allInNats - t0, alone.listMs),
    );
    row(
      `   Registry write -> proxy shows all ${N} (/metrics)`,
      secs(proxyShows - t0),
      vsAlone,
      ratio(proxyShows - t0, alone.listMs),
    );
    row('   Registry write -> first request routed to a discovered svc', routedAt ? secs(routedAt - t0) : 'never');
    row(
      '   syncer CPU, Registry write -> proxy shows all',
      `${sync.syncerCpu.toFixed(0)} ms`,
      `source alone ${alone.cpuMs.toFixed(0)} ms`,
      ratio(sync.syncerCpu, alone.cpuMs),
    );
    row('   proxy CPU, Registry write -> proxy shows all', `${sync.proxyCpu.toFixed(0)} ms`);
    row(
      '   proxy snapshots compiled / total / longest (its logs)',
      `${proxy.logs.applies - appliesBefore.count} / ${(proxy.logs.applyMs - appliesBefore.ms).toFixed(0)} ms / ${proxy.logs.applyMaxMs.toFixed(0)} ms`,
    );
    row(
      '   event-loop lag max during the sync: syncer / proxy',
      `${syncerScrape.lagMaxMs.toFixed(0)} ms / ${proxyLagMax.toFixed(0)} ms`,
    );
    row('   peak RSS during the sync: syncer / proxy', `${mb(sync.syncer)} / ${mb(sync.proxy)}`);

    // 2. Settled after the sync: RSS and idle CPU with everything loaded.
    await sleep(3000);
    a = both();
    await sleep(IDLE_MS);
    b = both();
    const idleAfter = {
      syncerCpu: ((b.syncer.cpuMs - a.syncer.cpuMs) * 1000) / IDLE_MS,
      proxyCpu: ((b.proxy.cpuMs - a.proxy.cpuMs) * 1000) / IDLE_MS,
      ...b,
    };
    // One /metrics scrape of the loaded proxy, alone: what monitoring costs it.
    const c0 = procSample(proxy.pid).cpuMs;
    const loadedScrape = await scrape(proxy.adminUrl, M);
    await sleep(200);
    const scrapeCpu = procSample(proxy.pid).cpuMs - c0;
    const heapAfter = { syncer: await syncer.inspector().heapAfterGc(), proxy: await proxy.inspector().heapAfterGc() };
    if (!values.profile) for (const svc of [syncer, proxy]) svc.inspector().close();
    const afterGc = both();
    const busRun = spawnSync(process.execPath, ['--expose-gc', process.argv[1]!, '--bus-child', nats.url, String(N)], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (busRun.status !== 0) throw new Error(`bus-alone run failed: ${busRun.stderr}`);
    const busAlone = JSON.parse(busRun.stdout.trim().split('\n').at(-1)!) as {
      loadMs: number;
      cpuMs: number;
      rssGrowthKb: number;
      heapGrowthMb: number;
    };
    const rssOf = (x: { syncer: ProcSample; proxy: ProcSample }, k: 'syncer' | 'proxy') => x[k].rssKb;
    const syncerGrowth = rssOf(idleAfter, 'syncer') - rssOf(idleBefore, 'syncer');
    row(
      '2. syncer RSS: started / idle before the Registry',
      `${mb(fresh.syncer.rssKb)} / ${mb(idleBefore.syncer.rssKb)}`,
    );
    row(
      '   syncer RSS after the sync (settled)',
      mb(idleAfter.syncer.rssKb),
      `idle ${mb(idleBefore.syncer.rssKb)}`,
      ratio(idleAfter.syncer.rssKb, idleBefore.syncer.rssKb),
    );
    row(
      '   syncer RSS growth from the sync',
      mb(syncerGrowth),
      `source alone ${mb(aloneGrowth)}`,
      ratio(syncerGrowth, aloneGrowth),
    );
    row(
      '   syncer VmHWM',
      mb(idleAfter.syncer.hwmKb),
      `source alone ${mb(alone.hwmKb)}`,
      ratio(idleAfter.syncer.hwmKb, alone.hwmKb),
    );
    const heapRow = (who: 'syncer' | 'proxy', baseline: string, baseMb: number) => {
      const growth = heapAfter[who].heapUsed - heapBefore[who].heapUsed;
      row(
        `   ${who} heap after GC: before / after the sync (growth)`,
        `${heapBefore[who].heapUsed.toFixed(0)} / ${heapAfter[who].heapUsed.toFixed(0)} MB (+${growth.toFixed(0)})`,
        `${baseline} +${baseMb.toFixed(0)} MB`,
        ratio(growth, baseMb),
      );
      row(
        `   ${who} RSS after a forced GC: before / after the sync (growth)`,
        `${mb(beforeGc[who].rssKb)} / ${mb(afterGc[who].rssKb)} (+${mb(afterGc[who].rssKb - beforeGc[who].rssKb)})`,
        `external+buffers ${(heapAfter[who].external + heapAfter[who].arrayBuffers).toFixed(0)} MB`,
      );
    };
    heapRow('syncer', 'source + bus alone', alone.heapGrowthMb + busAlone.heapGrowthMb);
    row(
      `   proxy RSS: started / idle with ${R} routes, no sets`,
      `${mb(fresh.proxy.rssKb)} / ${mb(idleBefore.proxy.rssKb)}`,
    );
    row(
      '   proxy RSS after the sync (settled)',
      mb(idleAfter.proxy.rssKb),
      `no sets ${mb(idleBefore.proxy.rssKb)}`,
      ratio(idleAfter.proxy.rssKb, idleBefore.proxy.rssKb),
    );
    row(
      '   proxy VmHWM',
      mb(idleAfter.proxy.hwmKb),
      `no sets ${mb(idleBefore.proxy.rssKb)}`,
      ratio(idleAfter.proxy.hwmKb, idleBefore.proxy.rssKb),
    );
    const proxyGrowth = idleAfter.proxy.rssKb - idleBefore.proxy.rssKb;
    row(
      '   proxy RSS growth from the sync',
      mb(proxyGrowth),
      `bus watcher alone ${mb(busAlone.rssGrowthKb)}`,
      ratio(proxyGrowth, busAlone.rssGrowthKb),
    );
    heapRow('proxy', 'bus watcher alone', busAlone.heapGrowthMb);
    row(
      `   a bus watcher alone loading the ${N} sets: time / CPU`,
      `${secs(busAlone.loadMs)} / ${busAlone.cpuMs.toFixed(0)} ms`,
    );
    row(
      '   proxy CPU during the sync vs the bus watcher alone',
      `${sync.proxyCpu.toFixed(0)} ms`,
      `bus watcher alone ${busAlone.cpuMs.toFixed(0)} ms`,
      ratio(sync.proxyCpu, busAlone.cpuMs),
    );
    row(
      `   idle CPU over ${IDLE_MS / 1000} s: syncer`,
      `${idleAfter.syncerCpu.toFixed(1)} ms/s`,
      `before ${idleBefore.syncerCpu.toFixed(1)} ms/s`,
    );
    row(
      `   idle CPU over ${IDLE_MS / 1000} s: proxy`,
      `${idleAfter.proxyCpu.toFixed(1)} ms/s`,
      `no sets ${idleBefore.proxyCpu.toFixed(1)} ms/s`,
    );
    row(
      '   one /metrics scrape of the proxy: time / its CPU / size',
      `${loadedScrape.ms.toFixed(0)} ms / ${scrapeCpu.toFixed(0)} ms / ${(loadedScrape.bytes / 1e6).toFixed(1)} MB`,
      `no sets ${idleScrape.ms.toFixed(0)} ms`,
    );

    // 3. One instance added to a loaded registry -> the proxy routes to it; removed again between samples.
    const targetSet = endpointSetName(REGISTRY, layout.service(0));
    const endpointsOf = (s: ConfigState) => s.get('EndpointSet').get(targetSet)?.spec.endpoints.length;
    const routesToMarker = async (requests: number) => {
      for (let i = 0; i < requests; i++) if ((await get(`${proxy.proxyUrl}/svc/0/c`)).backend === 'marker') return true;
      return false;
    };
    const changeAll: number[] = [];
    const changeNats: number[] = [];
    const changeAppliesBefore = proxy.logs.applies;
    for (let k = 0; k < CHANGES + 2; k++) {
      const inNats = view.until('the new instance in NATS', (s) => endpointsOf(s) === M + 1, {
        full: false,
        timeoutMs: 20_000,
      });
      const start = performance.now();
      const remove = await layout.addInstance(writer, k, marker.port);
      // M+1 requests in a row reach every endpoint once (equal weights: plain round robin).
      const routed = await waitUntil('the proxy to route to the new instance', 20_000, 2, () => routesToMarker(M + 1));
      const natsAt = await inNats;
      if (k >= 2) {
        changeAll.push(routed - start);
        changeNats.push(natsAt - start);
      }
      const gone = view.until('the instance gone from NATS', (s) => endpointsOf(s) === M, {
        full: false,
        timeoutMs: 20_000,
      });
      await remove();
      await gone;
      await waitUntil('the proxy to stop routing to it', 20_000, 5, async () => !(await routesToMarker(2 * (M + 1))));
      await sleep(100 + Math.random() * 200);
    }
    const changeApplies = proxy.logs.applies - changeAppliesBefore;
    const pct = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} p99 ${percentile(xs, 99).toFixed(0)} ms`;
    row(`3. instance added -> proxy routes to it (n=${changeAll.length})`, pct(changeAll), 'target p99 < 500 ms');
    row('   of which: instance added -> EndpointSet in NATS', pct(changeNats));
    row('   proxy snapshots compiled per change', (changeApplies / (2 * (CHANGES + 2))).toFixed(1));

    // 4. Full resync: ZooKeeper away until every set is stale, then back until every set is fresh.
    peak.syncer = 0;
    peak.proxy = 0;
    const downBefore = syncer.logs.down;
    await profStart();
    a = both();
    const r0 = performance.now();
    await zk.stop();
    const staleInNats = await view.until(
      `${N} stale EndpointSets in NATS`,
      (s) => countSets(s, (x) => x.spec.stale) === N,
      {
        full: true,
        timeoutMs: 120_000,
      },
    );
    const staleInProxy = await waitUntil('the proxy to show every service stale', 120_000, 250, async () => {
      const s = await scrape(proxy.adminUrl, M);
      return s.stale === N && s.full === N;
    });
    const outage = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(`${proxy.proxyUrl}/svc/${i % ECHO_SERVICES}/o`)),
    );
    const outageOk = outage.filter((r) => r.status === 200 && r.backend?.startsWith('echo-')).length;
    let mid = both();
    await profStop('4. ZooKeeper stopped -> all stale');
    row(
      '4. ZooKeeper stopped -> all stale in NATS / in the proxy',
      `${secs(staleInNats - r0)} / ${secs(staleInProxy - r0)}`,
    );
    row(
      '   CPU marking stale: syncer / proxy',
      `${(mid.syncer.cpuMs - a.syncer.cpuMs).toFixed(0)} ms / ${(mid.proxy.cpuMs - a.proxy.cpuMs).toFixed(0)} ms`,
    );
    row('   requests to discovered services while stale', `${outageOk}/${outage.length} ok`);
    const freshTest = (s: ConfigState) => countSets(s, (x) => !x.spec.stale && x.spec.endpoints.length === M) === N;
    const proxyFresh = async () => {
      const s = await scrape(proxy.adminUrl, M);
      return s.stale === 0 && s.full === N;
    };
    await profStart();
    let r1 = performance.now();
    await zk.restart();
    let zkUp = performance.now();
    row('   ZooKeeper start (until it answers ruok)', secs(zkUp - r1));
    let freshInNats = await view
      .until(`${N} fresh EndpointSets in NATS again`, freshTest, { full: true, timeoutMs: RESYNC_WAIT_MS })
      .catch(() => undefined);
    let workaround = '';
    if (freshInNats === undefined) {
      // Seen at 5,000 x 10: the session's SetWatches on reconnect is one packet over ZooKeeper's jute.maxbuffer
      // (1 MB); the server drops the connection, the client reconnects and sends it again, forever. Report it, then
      // resync once more with the server-side workaround so the resync itself is still measured.
      const stuck = both();
      await profStop(`4. ZooKeeper restarted as shipped, ${secs(RESYNC_WAIT_MS)} stuck`);
      const s = view.state!;
      row(
        '   ZooKeeper up -> all fresh in NATS (as shipped)',
        `NOT after ${secs(RESYNC_WAIT_MS)}`,
        `${countSets(s, (x) => !x.spec.stale)} of ${N} fresh`,
      );
      row(
        `   meanwhile (${secs(RESYNC_WAIT_MS)}): syncer CPU / RSS peak`,
        `${(stuck.syncer.cpuMs - mid.syncer.cpuMs).toFixed(0)} ms / ${mb(peak.syncer)}`,
        `listings: ${syncer.logs.listed.filter((x) => x > zkUp).length}`,
      );
      workaround = ' (jute.maxbuffer 16 MB)';
      process.env.JDK_JAVA_OPTIONS = `${process.env.JDK_JAVA_OPTIONS ?? ''} -Djute.maxbuffer=${16 << 20}`.trim();
      peak.syncer = 0;
      peak.proxy = 0;
      await profStart();
      mid = both();
      r1 = performance.now();
      await zk.restart();
      zkUp = performance.now();
      row(`   ZooKeeper restarted${workaround}`, secs(zkUp - r1));
      freshInNats = await view.until(`${N} fresh EndpointSets in NATS again`, freshTest, {
        full: true,
        timeoutMs: 180_000,
      });
    }
    const freshInProxy = await waitUntil('the proxy to show every service fresh again', 120_000, 250, proxyFresh);
    b = both();
    await profStop(`4. ZooKeeper up -> all fresh${workaround}`);
    clearInterval(sampler);
    const relisted = syncer.logs.listed.filter((x) => x > zkUp).length;
    row(
      `   ZooKeeper up -> all fresh in NATS${workaround}`,
      secs(freshInNats - zkUp),
      `initial sync ${secs(allInNats - t0)}`,
      ratio(freshInNats - zkUp, allInNats - t0),
    );
    row(
      `   ZooKeeper up -> proxy shows all fresh${workaround}`,
      secs(freshInProxy - zkUp),
      `initial sync ${secs(proxyShows - t0)}`,
      ratio(freshInProxy - zkUp, proxyShows - t0),
    );
    row(
      '   CPU resyncing: syncer / proxy',
      `${(b.syncer.cpuMs - mid.syncer.cpuMs).toFixed(0)} ms / ${(b.proxy.cpuMs - mid.proxy.cpuMs).toFixed(0)} ms`,
      `initial ${sync.syncerCpu.toFixed(0)} / ${sync.proxyCpu.toFixed(0)} ms`,
      ratio(b.syncer.cpuMs - mid.syncer.cpuMs, sync.syncerCpu),
    );
    row('   peak RSS while resyncing: syncer / proxy', `${mb(peak.syncer)} / ${mb(peak.proxy)}`);
    row('   down events / listings after ZooKeeper came back', `${syncer.logs.down - downBefore} / ${relisted}`);
    row('errors logged: syncer / proxy', `${syncer.logs.errors} / ${proxy.logs.errors}`);
    if (syncer.logs.lastError) print(`syncer's last error: ${syncer.logs.lastError}`);
    if (proxy.logs.lastError) print(`proxy's last error: ${proxy.logs.lastError}`);
    print(`(routes applied in ${secs(routesMs)}; whole run ${secs(performance.now() - started)})`);
    if (profiles.length > 0) {
      const dir = mkdtempSync(join(tmpdir(), 'portico-scale-profiles-'));
      for (const [i, p] of profiles.entries()) {
        for (const who of ['syncer', 'proxy'] as const) {
          writeFileSync(join(dir, `${i + 1}-${who}.cpuprofile`), JSON.stringify(p[who]));
          print(`\nCPU profile, ${p.phase}, ${who}:`);
          for (const line of summarize(p[who], 8)) print(`  ${line}`);
        }
      }
      print(`\nprofiles (open in Chrome DevTools): ${dir}`);
    }
  } catch (err) {
    print(`FAILED: ${(err as Error).message}`);
    await diagnose?.().catch(() => {});
    process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

// Last: the consts above must be initialised before either entry point runs.
if (process.argv[2] === '--source-child') await sourceChild(process.argv[3]!);
else if (process.argv[2] === '--bus-child') await busChild(process.argv[3]!, Number(process.argv[4]));
else await main();
