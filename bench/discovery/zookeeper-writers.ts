/**
 * Shared by the ZooKeeper benches: znodes written as Dubbo's ZookeeperRegistry and Curator x-discovery (Spring Cloud
 * Zookeeper) write them, a pipelined bulk loader, a sink that timestamps calls, and percentile helpers.
 */
import type { DiscoveredService, SourceSink } from '@portico/discovery';
import { springZookeeperInstance } from '@portico/testkit';
import { type Client, CreateMode, createClient } from 'node-zookeeper-client';

export function call<T>(fn: (cb: (err: unknown, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

export async function connectWriter(connectString: string): Promise<Client> {
  const client = createClient(connectString, { sessionTimeout: 30_000 });
  const connected = new Promise<void>((resolve) => client.once('connected', resolve));
  client.connect();
  await connected;
  return client;
}

/** Java's URLEncoder, which Dubbo uses for provider node names. */
export function javaUrlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** A provider URL shaped like Dubbo 3.2's (same parameters and lengths). */
export function dubboUrl(iface: string, host: string, port: number, extra: Record<string, string> = {}): string {
  const params: Record<string, string> = {
    anyhost: 'true',
    application: 'bench-provider',
    background: 'false',
    deprecated: 'false',
    dubbo: '2.0.2',
    dynamic: 'true',
    generic: 'false',
    interface: iface,
    methods: 'sayHello,sayHi,sayHelloAsync',
    pid: '4242',
    release: '3.2.11',
    'service-name-mapping': 'true',
    side: 'provider',
    timestamp: '1700000000000',
    version: '1.0.0',
    ...extra,
  };
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `dubbo://${host}:${port}/${iface}?${query}`;
}

/** Spring Cloud Zookeeper's ServiceInstance<ZookeeperInstance> JSON. */
export function springInstance(name: string, id: string, address: string, port: number, weight = '1') {
  return springZookeeperInstance({ name, id, address, port, metadata: { weight, zone: 'zone-a' } });
}

/** Runs `tasks` with at most `inFlight` running at once. */
export async function pipelined(count: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/** One multi-op per service: its parents and its `perService` children (persistent, so the writer can leave). */
export async function loadDubbo(client: Client, root: string, services: number, perService: number): Promise<void> {
  await call((cb) => client.mkdirp(root, cb));
  await pipelined(services, 256, (s) => {
    const iface = `com.example.bench.Service${s}`;
    const tx = client.transaction().create(`${root}/${iface}`).create(`${root}/${iface}/providers`);
    for (let i = 0; i < perService; i++) {
      const url = dubboUrl(iface, `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`, 20880);
      tx.create(`${root}/${iface}/providers/${javaUrlEncode(url)}`, Buffer.from('10.0.0.1'), CreateMode.PERSISTENT);
    }
    return call((cb) => tx.commit(cb));
  });
}

export async function loadSpring(client: Client, root: string, services: number, perService: number): Promise<void> {
  await call((cb) => client.mkdirp(root, cb));
  await pipelined(services, 256, (s) => {
    const name = `bench-app-${s}`;
    const tx = client.transaction().create(`${root}/${name}`);
    for (let i = 0; i < perService; i++) {
      const id = `00000000-0000-4000-8000-${String(s * 100 + i).padStart(12, '0')}`;
      const json = springInstance(name, id, `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`, 8080);
      tx.create(`${root}/${name}/${id}`, Buffer.from(JSON.stringify(json)), CreateMode.PERSISTENT);
    }
    return call((cb) => tx.commit(cb));
  });
}

export type Call = { type: string; at: number; service?: DiscoveredService; name?: string; reason?: string };

/** Keeps the last snapshot and every call's time; `wait` resolves on the first call that `check` accepts. */
export class TimingSink implements SourceSink {
  calls: Call[] = [];
  last: readonly DiscoveredService[] = [];
  #waiters: Array<(c: Call) => boolean> = [];
  snapshot(services: readonly DiscoveredService[]): void {
    this.last = services;
    this.#push({ type: 'snapshot', at: performance.now() });
  }
  update(service: DiscoveredService): void {
    this.#push({ type: 'update', at: performance.now(), service });
  }
  remove(name: string): void {
    this.#push({ type: 'remove', at: performance.now(), name });
  }
  down(error: Error): void {
    this.#push({ type: 'down', at: performance.now(), reason: error.message });
  }
  skipped(service: string, reason: string): void {
    this.#push({ type: 'skipped', at: performance.now(), name: service, reason });
  }
  wait(check: (c: Call) => boolean, timeoutMs = 60_000, what = 'a sink call'): Promise<Call> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const recent = JSON.stringify(this.calls.slice(-3));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last calls: ${recent}`));
      }, timeoutMs);
      this.#waiters.push((c) => {
        if (!check(c)) return false;
        clearTimeout(timer);
        resolve(c);
        return true;
      });
    });
  }
  #push(c: Call): void {
    // Calls are only kept while someone waits; the scale bench must not grow the sink.
    this.#waiters = this.#waiters.filter((w) => !w(c));
    if (c.type !== 'update') this.calls.push(c);
  }
}

/** Benches print their figures (libs never do). */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function summary(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return `${label.padEnd(34)} n=${s.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${s.at(-1)!.toFixed(1)} ms`;
}
