/**
 * Registry change -> front proxy routing by it, per registry, against a baseline measured in the same run.
 *
 * One Node process runs the discovery syncer and the front proxy, each on its own NATS connection to a real
 * nats-server, as two deployed services would; the registries run as real servers (ZooKeeper, Eureka, dnsmasq,
 * Nacos) or as the Consul stand-in (no Consul agent can be obtained here). Two echo backends, A and B. One change
 * moves a service from A to B (or back), the way the registry's own clients do it: register the new instance, then
 * deregister the old one (DNS: the A record is replaced; B is reached through a relay on 127.0.0.2). The time is from just before the first registry write to
 * the first response through the proxy answered by the new backend; a keep-alive client polls the proxy every ~2 ms
 * while a change is in flight (and not between changes). Before the next change the old backend must be gone
 * (SETTLE_STREAK answers in a row from the new one), so no change starts from a half-moved state.
 *
 * Baseline: the same move written straight to NATS as an EndpointSet (what the syncer writes), measured the same
 * way; half of its changes run first and half last, so drift over the run shows. Ratios are each registry's
 * p50/p99 over the baseline's. Targets (issue 3): ZooKeeper, Consul and Nacos under 500 ms at p99; Eureka within one
 * delta interval. The bench prints PASS/FAIL lines and asserts nothing.
 *
 * Nacos runs twice: as shipped (it batches pushes for pushTaskDelay, 500 ms by default) and with pushTaskDelay cut to
 * --nacos-push-delay ms, so its row splits into Nacos's own batching and the rest.
 *
 * Run: node bench/discovery/propagation.ts [--quick] [--only zookeeper,consul,nacos,nacos-tuned,eureka-5s,eureka-1s,dns]
 *      [--nacos-push-delay 50]
 */
import { subscribe } from 'node:diagnostics_channel';
import { Agent, request } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, connect as tcpConnect } from 'node:net';
import { parseArgs } from 'node:util';
import { type ConfigBus, createNatsBus } from '@portico/bus';
import { endpointSetName, type Resource, validateResource } from '@portico/config';
import { proxyChannels } from '@portico/dataplane';
import { DISCOVERY_DOWN_CHANNEL, DISCOVERY_ERROR_CHANNEL, DISCOVERY_SKIPPED_CHANNEL } from '@portico/discovery';
import { type RunningDiscoverySyncer, startDiscoverySyncer } from '@portico/discovery-syncer';
import { type FrontProxy, startFrontProxy } from '@portico/front-proxy';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import {
  type Backend,
  startConsulStandIn,
  startDnsmasq,
  startEchoBackend,
  startEurekaServer,
  startNacos,
  startNatsServer,
  startZooKeeper,
} from '@portico/testkit';
import { CreateMode, createClient as createZkClient } from 'node-zookeeper-client';
import { percentile as pct } from '../lib/stats.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'nacos-push-delay': { type: 'string', default: '50' },
  },
});
const QUICK = values.quick;
const ONLY = values.only === undefined ? undefined : new Set(values.only.split(',').map((s) => s.trim()));
const POLL_MS = 2;
/** Answers in a row from the new backend before a change counts as settled (the old one is gone). */
const SETTLE_STREAK = 20;
const PUSH_TARGET_MS = 500;
const SERVICE = 'bench';

type Side = 'A' | 'B';
const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

/** One registry under test: how to route to it, how to move its service, and what the issue expects of it. */
interface Subject {
  key: string;
  label: string;
  route: string;
  changes: number;
  warmup: number;
  /** Idle time before a change (no polling): random, so changes of polled registries don't lock onto the poll phase. */
  gapMs: () => number;
  /** Give up on one change after this long. */
  timeoutMs: number;
  /** Registry writes that move the service to `to` (register `to`, then deregister the other). */
  move: (to: Side) => Promise<void>;
  target?: { limitMs: number; text: string };
}

interface Result {
  subject: Subject;
  first: number[];
  oldGone: number[];
  non2xx: number;
  /** Non-2xx answers and failed requests seen while polling, by status or error code. */
  failures: Map<string, number>;
  failed?: string;
}

// --- small helpers ------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const uniform = (lo: number, hi: number) => () => lo + Math.random() * (hi - lo);

function resource(input: Record<string, unknown>): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...input });
  if (!r.ok) throw new Error(`invalid ${String(input.kind)}: ${JSON.stringify(r.errors)}`);
  return r.resource;
}

async function http(method: string, url: string, body?: unknown): Promise<void> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

/** node-zookeeper-client's callbacks as a promise (its errors are Exception objects, not Errors). */
function zk(fn: (cb: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(new Error(String(err))) : resolve())));
}

/** A TCP relay on `host:port` to a backend: lets a DNS A record move the service by address alone. */
function relay(host: string, port: number, to: Backend): Promise<TcpServer> {
  const server = createTcpServer((socket) => {
    const upstream = tcpConnect(to.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

// --- the proxy client ---------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let proxyPort = 0;

/** One request through the proxy: the backend that answered (2xx), else the status, or the error's code. */
function hit(path: string): Promise<{ backend: string } | { failure: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, path, agent }, (res) => {
      res.resume();
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        resolve(
          status >= 200 && status < 300
            ? { backend: String(res.headers['x-backend'] ?? '') }
            : { failure: `HTTP ${status}` },
        );
      });
      res.once('error', (e: NodeJS.ErrnoException) => resolve({ failure: e.code ?? e.message }));
    });
    req.once('error', (e: NodeJS.ErrnoException) => resolve({ failure: e.code ?? e.message }));
    req.end();
  });
}

/**
 * Polls until `want` answers: ms from t0 to that first answer, and to the last answer by the old backend seen
 * after it (the old one is taken as gone once SETTLE_STREAK answers in a row came from `want`).
 */
async function pollFor(path: string, want: Side, t0: number, timeoutMs: number, failures?: Map<string, number>) {
  let first = -1;
  let lastOld = -1;
  let streak = 0;
  let non2xx = 0;
  for (;;) {
    const answer = await hit(path);
    const at = performance.now() - t0;
    if ('backend' in answer && answer.backend === want) {
      if (first < 0) first = at;
      if (++streak >= SETTLE_STREAK) return { first, oldGone: Math.max(first, lastOld), non2xx };
    } else {
      streak = 0;
      if ('failure' in answer) {
        non2xx++;
        failures?.set(answer.failure, (failures.get(answer.failure) ?? 0) + 1);
      } else if (first >= 0) lastOld = at;
    }
    if (at > timeoutMs)
      throw new Error(`${want} not ${first < 0 ? 'answering' : 'answering alone'} after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function measure(subject: Subject, current: { side: Side }): Promise<Result> {
  const result: Result = { subject, first: [], oldGone: [], non2xx: 0, failures: new Map() };
  for (let i = 0; i < subject.warmup + subject.changes; i++) {
    await sleep(subject.gapMs());
    const to = other(current.side);
    const t0 = performance.now();
    const seen = pollFor(subject.route, to, t0, subject.timeoutMs, result.failures);
    // Keep a failed write from leaving the poll promise unobserved.
    seen.catch(() => {});
    try {
      await subject.move(to);
      const r = await seen;
      current.side = to;
      result.non2xx += r.non2xx;
      if (i < subject.warmup) continue;
      result.first.push(r.first);
      result.oldGone.push(r.oldGone);
    } catch (error) {
      result.failed = `change ${i + 1}: ${error instanceof Error ? error.message : String(error)}`;
      await seen.catch(() => {});
      return result;
    }
  }
  return result;
}

/** Waits until the route answers with `side` alone (initial listing done). */
async function routedTo(path: string, side: Side, timeoutMs: number): Promise<void> {
  await pollFor(path, side, performance.now(), timeoutMs);
}

// --- run ----------------------------------------------------------------------------------------------------

const n = (full: number, quick: number) => (QUICK ? quick : full);
const wanted = (key: string) => ONLY === undefined || ONLY.has(key) || key === 'baseline';
const NACOS_PUSH_DELAY = values['nacos-push-delay'];

const events = new Map<string, string[]>();
const note = (registry: string, text: string) => {
  const list = events.get(registry) ?? [];
  if (list.length < 5) list.push(text);
  events.set(registry, list);
};
const onDown = (m: unknown) => {
  const e = m as { registry: string; error: Error };
  note(e.registry, `down: ${e.error?.message}`);
};
const onError = (m: unknown) => {
  const e = m as { registry: string; error: unknown };
  note(e.registry || '(syncer)', `error: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
};
const onSkipped = (m: unknown) => {
  const e = m as { registry: string; service: string; reason: string };
  note(e.registry, `skipped ${e.service}: ${e.reason}`);
};
const onRejected = (m: unknown) => note('(proxy)', `config rejected: ${JSON.stringify(m).slice(0, 200)}`);
subscribe(DISCOVERY_DOWN_CHANNEL, onDown);
subscribe(DISCOVERY_ERROR_CHANNEL, onError);
subscribe(DISCOVERY_SKIPPED_CHANNEL, onSkipped);
subscribe(proxyChannels.configRejected.name, onRejected);

const cleanup: Array<() => Promise<unknown> | unknown> = [];
const started = performance.now();
const say = (line: string) => process.stdout.write(`${line}\n`);

try {
  const [a, b] = await Promise.all([startEchoBackend('A'), startEchoBackend('B')]);
  cleanup.push(
    () => a.close(),
    () => b.close(),
  );
  const backend = (s: Side) => (s === 'A' ? a : b);

  // Registries, started side by side (the JVMs take the longest).
  const [nats, zkServer, consul, eureka, dns, nacos, nacosTuned] = await Promise.all([
    startNatsServer(),
    wanted('zookeeper') ? startZooKeeper() : undefined,
    wanted('consul') ? startConsulStandIn() : undefined,
    wanted('eureka-5s') || wanted('eureka-1s') ? startEurekaServer() : undefined,
    wanted('dns') ? startDnsmasq({ records: { hosts: { 'bench.test': ['127.0.0.1'] } }, ttl: 1 }) : undefined,
    wanted('nacos') ? startNacos() : undefined,
    wanted('nacos-tuned')
      ? startNacos({ properties: { 'nacos.naming.push.pushTaskDelay': NACOS_PUSH_DELAY } })
      : undefined,
  ]);
  cleanup.push(() => nats.stop());
  if (zkServer) cleanup.push(() => zkServer.stop());
  if (consul) cleanup.push(() => consul.stop());
  if (eureka) cleanup.push(() => eureka.kill());
  if (dns) cleanup.push(() => dns.stop());
  if (nacos) cleanup.push(() => nacos.stop());
  if (nacosTuned) cleanup.push(() => nacosTuned.stop());
  say(`registries up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const subjects: Subject[] = [];
  const registries: Resource[] = [];
  const addRegistry = (name: string, spec: Record<string, unknown>, route: string, service = SERVICE) => {
    registries.push(resource({ kind: 'Registry', metadata: { name }, spec }));
    registries.push(
      resource({
        kind: 'Route',
        metadata: { name },
        spec: { rules: [{ matches: [{ path: { value: route } }], backendRefs: [{ registry: name, name: service }] }] },
      }),
    );
  };

  // ZooKeeper: Curator x-discovery instances as Spring Cloud Zookeeper writes them (ephemeral, persistent parent).
  if (zkServer) {
    const client = createZkClient(zkServer.connectString, { sessionTimeout: 30_000 });
    const connected = new Promise<void>((r) => client.once('connected', r));
    client.connect();
    await connected;
    cleanup.push(() => client.close());
    const dir = `/services/${SERVICE}`;
    await zk((cb) => client.mkdirp(dir, cb));
    const instance = (s: Side) => {
      const id = `bench-${s.toLowerCase()}`;
      const port = backend(s).port;
      return {
        path: `${dir}/${id}`,
        data: Buffer.from(
          JSON.stringify({
            name: SERVICE,
            id,
            address: '127.0.0.1',
            port,
            sslPort: null,
            payload: {
              '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
              id: `${SERVICE}:${port}`,
              name: SERVICE,
              metadata: { instance_status: 'UP' },
            },
            registrationTimeUTC: Date.now(),
            serviceType: 'DYNAMIC',
            uriSpec: { parts: [] },
            enabled: true,
          }),
        ),
      };
    };
    const register = async (s: Side) => {
      const i = instance(s);
      await zk((cb) => client.create(i.path, i.data, CreateMode.EPHEMERAL, cb));
    };
    await register('A');
    addRegistry('zookeeper', { type: 'zookeeper', addresses: [zkServer.connectString] }, '/zookeeper');
    subjects.push({
      key: 'zookeeper',
      label: 'zookeeper (watch)',
      route: '/zookeeper',
      changes: n(50, 8),
      warmup: 2,
      gapMs: uniform(100, 400),
      timeoutMs: 10_000,
      move: async (to) => {
        await register(to);
        await zk((cb) => client.remove(instance(other(to)).path, -1, cb));
      },
      target: { limitMs: PUSH_TARGET_MS, text: 'p99 < 500 ms' },
    });
  }

  // Consul (stand-in): agent register / deregister, a TTL check registered passing.
  if (consul) {
    const register = (s: Side) =>
      http('PUT', `${consul.url}/v1/agent/service/register`, {
        ID: `bench-${s.toLowerCase()}`,
        Name: SERVICE,
        Address: '127.0.0.1',
        Port: backend(s).port,
        Check: { TTL: '10m', Status: 'passing' },
      });
    await register('A');
    addRegistry('consul', { type: 'consul', addresses: [consul.address] }, '/consul');
    subjects.push({
      key: 'consul',
      label: 'consul (blocking query)',
      route: '/consul',
      changes: n(50, 8),
      warmup: 2,
      gapMs: uniform(100, 400),
      timeoutMs: 10_000,
      move: async (to) => {
        await register(to);
        await http('PUT', `${consul.url}/v1/agent/service/deregister/bench-${other(to).toLowerCase()}`);
      },
      target: { limitMs: PUSH_TARGET_MS, text: 'p99 < 500 ms' },
    });
  }

  // Nacos: v1 HTTP API, ephemeral instances (kept from expiring by their preserved.* metadata: we send no beats).
  // Nacos batches pushes for pushTaskDelay (500 ms by default): once as shipped, once with it cut down, so the
  // figures split into Nacos's batching and the rest.
  for (const [key, server, label] of [
    ['nacos', nacos, 'nacos (push, server default)'],
    ['nacos-tuned', nacosTuned, `nacos (pushTaskDelay ${NACOS_PUSH_DELAY} ms)`],
  ] as const) {
    if (server === undefined) continue;
    const params = (s: Side, withAttributes: boolean) => {
      const p: Record<string, string> = {
        serviceName: SERVICE,
        groupName: 'DEFAULT_GROUP',
        namespaceId: 'public',
        ip: '127.0.0.1',
        port: String(backend(s).port),
        clusterName: 'DEFAULT',
        ephemeral: 'true',
      };
      if (withAttributes) {
        p.weight = '1';
        p.enabled = 'true';
        p.metadata = JSON.stringify({
          'preserved.heart.beat.interval': '5000',
          'preserved.heart.beat.timeout': '600000',
          'preserved.ip.delete.timeout': '600000',
        });
      }
      return new URLSearchParams(p);
    };
    const register = (s: Side) => http('POST', `${server.url}/v1/ns/instance?${params(s, true)}`);
    await register('A');
    addRegistry(key, { type: 'nacos', addresses: [server.address] }, `/${key}`);
    subjects.push({
      key,
      label,
      route: `/${key}`,
      changes: n(50, 8),
      warmup: 2,
      gapMs: uniform(100, 400),
      timeoutMs: 15_000,
      move: async (to) => {
        await register(to);
        await http('DELETE', `${server.url}/v1/ns/instance?${params(other(to), false)}`);
      },
      target: { limitMs: PUSH_TARGET_MS, text: 'p99 < 500 ms' },
    });
  }

  // Eureka: the REST API as Eureka clients call it; one app per delta interval so the two runs don't mix.
  if (eureka) {
    const base = eureka.url.replace(/\/+$/, '');
    for (const [key, intervalMs, full, quick] of [
      ['eureka-5s', 5000, 20, 3],
      ['eureka-1s', 1000, 30, 6],
    ] as const) {
      if (!wanted(key)) continue;
      const app = `BENCH${intervalMs / 1000}S`;
      const id = (s: Side) => `${app.toLowerCase()}-${s.toLowerCase()}`;
      const register = (s: Side) =>
        http('POST', `${base}/apps/${app}`, {
          instance: {
            instanceId: id(s),
            hostName: '127.0.0.1',
            app,
            ipAddr: '127.0.0.1',
            status: 'UP',
            port: { $: backend(s).port, '@enabled': 'true' },
            securePort: { $: 443, '@enabled': 'false' },
            dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
            // No renewals are sent: a long lease keeps the instance through the run.
            leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 600 },
            vipAddress: app.toLowerCase(),
          },
        });
      await register('A');
      addRegistry(
        key,
        { type: 'eureka', addresses: [eureka.url], deltaInterval: `${intervalMs}ms`, services: [app.toLowerCase()] },
        `/${key}`,
        app.toLowerCase(),
      );
      subjects.push({
        key,
        label: `eureka (delta ${intervalMs / 1000} s)`,
        route: `/${key}`,
        changes: n(full, quick),
        warmup: 0,
        gapMs: uniform(0, intervalMs),
        timeoutMs: 3 * intervalMs + 10_000,
        move: async (to) => {
          await register(to);
          await http('DELETE', `${base}/apps/${app}/${id(other(to))}`);
        },
        target: { limitMs: intervalMs, text: `p99 <= ${intervalMs / 1000} s (one delta interval)` },
      });
    }
  }

  // DNS: an A record moved between 127.0.0.1 (backend A) and 127.0.0.2 (a relay to backend B) on A's port.
  if (dns) {
    const relayB = await relay('127.0.0.2', a.port, b);
    cleanup.push(() => new Promise((r) => relayB.close(r)));
    const address = (s: Side) => (s === 'A' ? '127.0.0.1' : '127.0.0.2');
    addRegistry(
      'dns',
      { type: 'dns', addresses: [dns.address], names: [{ name: SERVICE, host: 'bench.test', port: a.port }] },
      '/dns',
    );
    subjects.push({
      key: 'dns',
      label: 'dns A (ttl 1 s)',
      route: '/dns',
      changes: n(50, 8),
      warmup: 0,
      gapMs: uniform(0, 1000),
      timeoutMs: 10_000,
      // A DNS record has no register/deregister: the record is replaced.
      move: (to) => dns.setRecords({ hosts: { 'bench.test': [address(to)] } }),
    });
  }

  // The baseline's registry: static and empty, so the syncer runs it but never writes its set.
  addRegistry('direct', { type: 'static', static: [] }, '/direct');

  const syncerBus: ConfigBus = await createNatsBus({ servers: nats.url, name: 'bench-discovery-syncer' });
  cleanup.push(() => syncerBus.close());
  const proxyBus: ConfigBus = await createNatsBus({ servers: nats.url, name: 'bench-front-proxy' });
  cleanup.push(() => proxyBus.close());
  for (const r of registries) await syncerBus.put(r);

  const syncer: RunningDiscoverySyncer = await startDiscoverySyncer({ bus: syncerBus });
  cleanup.push(() => syncer.close());
  await syncer.flushed();
  // The baseline's NATS leg alone: put -> the set in the proxy's bus (a listener on the proxy's connection, called before the proxy's own).
  const directName = endpointSetName('direct', SERVICE);
  const putAt = new Map<string, number>();
  const natsLeg: number[] = [];
  const legWatch = await proxyBus.watch((state) => {
    const revision = state.get('EndpointSet').get(directName)?.spec.revision;
    const t0 = revision === undefined ? undefined : putAt.get(revision);
    if (revision === undefined || t0 === undefined) return;
    putAt.delete(revision);
    natsLeg.push(performance.now() - t0);
  });
  cleanup.push(() => legWatch.stop());
  const proxy: FrontProxy = await startFrontProxy({
    bus: proxyBus,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
    metrics: new ProxyMetrics(createMetricsRegistry()),
    accessLog: false,
  });
  cleanup.push(() => proxy.close());
  proxyPort = proxy.port;

  // Written after the syncer started: at start it adopts (and would then clear) sets of its registries.
  let directRevision = 0;
  const writeDirect = (s: Side) => {
    const revision = `${s}-${++directRevision}`;
    putAt.set(revision, performance.now());
    return syncerBus.put(
      resource({
        kind: 'EndpointSet',
        metadata: { name: endpointSetName('direct', SERVICE), labels: { 'portico.dev/registry': 'direct' } },
        spec: {
          registry: 'direct',
          service: SERVICE,
          stale: false,
          revision,
          endpoints: [
            { address: '127.0.0.1', port: backend(s).port, weight: 100, healthy: true, protocol: 'http', metadata: {} },
          ],
        },
      }),
    );
  };
  await writeDirect('A');

  const baselineHalf = (changes: number): Subject => ({
    key: 'baseline',
    label: 'baseline: EndpointSet -> NATS',
    route: '/direct',
    changes,
    warmup: 2,
    gapMs: uniform(100, 400),
    timeoutMs: 10_000,
    move: async (to) => {
      await writeDirect(to);
    },
  });

  for (const s of [baselineHalf(0), ...subjects]) await routedTo(s.route, 'A', 90_000);
  say(`initial listings routed in ${((performance.now() - started) / 1000).toFixed(1)} s; measuring`);

  const total = n(50, 8);
  const baseSide = { side: 'A' as Side };
  const before = await measure(baselineHalf(Math.ceil(total / 2)), baseSide);
  const results: Result[] = [];
  for (const s of subjects) {
    const t = performance.now();
    const r = await measure(s, { side: 'A' });
    results.push(r);
    say(`  ${s.label}: ${r.first.length} changes in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const afterHalf = await measure({ ...baselineHalf(Math.floor(total / 2)), warmup: 0 }, baseSide);
  const baseline: Result = {
    subject: before.subject,
    first: [...before.first, ...afterHalf.first],
    oldGone: [...before.oldGone, ...afterHalf.oldGone],
    non2xx: before.non2xx + afterHalf.non2xx,
    failures: new Map([...before.failures, ...afterHalf.failures]),
  };
  const baseFailed = before.failed ?? afterHalf.failed;
  if (baseFailed !== undefined) baseline.failed = baseFailed;
  for (const [k, v] of afterHalf.failures) baseline.failures.set(k, (before.failures.get(k) ?? 0) + v);

  // --- report -------------------------------------------------------------------------------------------------
  const sorted = (v: number[]) => [...v].sort((x, y) => x - y);
  const base = sorted(baseline.first);
  const b50 = pct(base, 50);
  const b99 = pct(base, 99);
  const f = (ms: number) => (ms >= 1000 ? ms.toFixed(0) : ms.toFixed(1)).padStart(8);
  const x = (ms: number, by: number) => `x${(ms / by).toFixed(1)}`.padStart(8);
  say('');
  say(
    `registry change -> front proxy routing by it (first answer from the new backend), ms; ` +
      `${QUICK ? 'quick run' : 'full run'}, node ${process.version}`,
  );
  say(
    `${'registry'.padEnd(30)}${'n'.padStart(4)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}` +
      `${'p50/base'.padStart(9)}${'p99/base'.padStart(9)}${'old gone p50'.padStart(14)}${'non-2xx'.padStart(9)}`,
  );
  const row = (r: Result, isBase: boolean) => {
    if (r.first.length === 0) {
      say(`${r.subject.label.padEnd(30)}   -   no samples${r.failed ? ` (${r.failed})` : ''}`);
      return;
    }
    const s = sorted(r.first);
    const p50 = pct(s, 50);
    const p99 = pct(s, 99);
    say(
      `${r.subject.label.padEnd(30)}${String(s.length).padStart(4)}${f(p50)}${f(p99)}${f(s.at(-1)!)}` +
        `${isBase ? '       1 ' : `${x(p50, b50)} `}${isBase ? '       1' : x(p99, b99)}` +
        `${f(pct(sorted(r.oldGone), 50)).padStart(14)}${String(r.non2xx).padStart(9)}`,
    );
  };
  row(baseline, true);
  for (const r of results) row(r, false);
  const half = (v: number[]) =>
    v.length === 0 ? '-' : `p50 ${pct(sorted(v), 50).toFixed(1)} max ${pct(sorted(v), 100).toFixed(1)}`;
  say(
    `baseline halves (drift check): before the registries ${half(before.first)} ms, after ${half(afterHalf.first)} ms`,
  );
  const leg = sorted(natsLeg.slice(1));
  if (leg.length > 0)
    say(
      `baseline's NATS leg (put -> the proxy's bus), n=${leg.length}: p50 ${pct(leg, 50).toFixed(1)} ms, ` +
        `p99 ${pct(leg, 99).toFixed(1)} ms; the rest is the proxy's apply and the poll`,
    );
  say('');
  for (const r of results) {
    const t = r.subject.target;
    if (t === undefined) {
      if (r.first.length > 0)
        say(`INFO  ${r.subject.label}: p99 ${pct(sorted(r.first), 99).toFixed(0)} ms (no target in the issue)`);
      continue;
    }
    if (r.first.length === 0 || r.failed !== undefined) {
      say(`FAIL  ${r.subject.label}: ${t.text}: ${r.failed ?? 'no samples'}`);
      continue;
    }
    const p99 = pct(sorted(r.first), 99);
    say(`${p99 <= t.limitMs ? 'PASS' : 'FAIL'}  ${r.subject.label}: ${t.text}: p99 ${p99.toFixed(0)} ms`);
  }
  if (baseline.failed) say(`FAIL  baseline: ${baseline.failed}`);
  for (const r of [baseline, ...results])
    if (r.failures.size > 0)
      say(
        `note  ${r.subject.label}: answers other than 2xx while moving: ${[...r.failures]
          .map(([k, v]) => `${k} x${v}`)
          .join(', ')}`,
      );
  for (const [registry, list] of events) say(`note  registry ${registry}: ${list.join(' | ')}`);
  say(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  agent.destroy();
  for (const close of cleanup.reverse()) {
    try {
      await close();
    } catch {
      // Best effort: a failed stop must not hide the figures or the error above.
    }
  }
}
