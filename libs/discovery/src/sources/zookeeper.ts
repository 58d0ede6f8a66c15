/**
 * ZooKeeper source (node-zookeeper-client). Watches two trees:
 * - `<dubboRoot>/<interface>/providers/<url-encoded Dubbo URL>`: Dubbo interface-level providers, one service per
 *   (interface, version, group): `providers:<interface>:<version>:<group>`. The URL is the registration; node data
 *   is not read.
 * - `<servicesRoot>/<name>/<id>`: Curator x-discovery instances (Spring Cloud Zookeeper, Dubbo 3 application-level),
 *   one service per `<name>`; each instance's JSON data is read and watched.
 *
 * Child watches (and data watches on instances) are one-shot, so every read that answers a watch sets it again.
 * A full listing runs on connect, on every reconnect (deep: every instance's data is read again) and every
 * refreshInterval (children only, plus the data of instances not seen before), and ends in sink.snapshot().
 * Reads are pipelined: a listing issues all of a level's reads at once and the session caps what is in flight.
 * A disconnect calls sink.down() once and replaces the session at once: the source owns no ephemeral nodes, the
 * deep listing after connecting sets every watch again anyway, and resuming would make the client re-send all its
 * watches in one SetWatches packet, which ZooKeeper refuses above `jute.maxbuffer` (1 MB, ~18,000 watches) and then
 * drops the connection, forever (measured by bench/discovery/scale.ts). Revisions are ZooKeeper zxids: the
 * providers node's pzxid for Dubbo, the highest of the service node's pzxid and its instances' mzxid otherwise.
 */
import type { DiscoveredEndpoint } from '@portico/config';
import { durationMs } from '@portico/config';
import type { DiscoveredService, DiscoverySource, SourceFactory, SourceInit, SourceSink, SpecOf } from '../source.ts';
import { wanted } from '../source.ts';
import { parseCuratorInstance } from './zookeeper/curator-instance.ts';
import { type DubboProvider, decodeJavaUrlComponent, type Parsed, parseDubboProvider } from './zookeeper/dubbo-url.ts';
import { ZooKeeperConfigError, ZooKeeperUnavailableError } from './zookeeper/errors.ts';
import { eachLimited } from './zookeeper/pool.ts';
import { KeyedSerial } from './zookeeper/serial.ts';
import { isConnectionError, type SessionState, type Watcher, ZkSession, zxid } from './zookeeper/session.ts';

export { parseCuratorInstance } from './zookeeper/curator-instance.ts';
export { type DubboProvider, type DubboUrl, parseDubboProvider, parseDubboUrl } from './zookeeper/dubbo-url.ts';
export { ZooKeeperConfigError, ZooKeeperUnavailableError } from './zookeeper/errors.ts';

const CONNECT_TIMEOUT_MS = 3000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
const RAW_PREVIEW = 1024;
/** Services read at once by a listing (each is one child read; an application's instances add one read each). */
const IFACES_AT_ONCE = 256;
const APPS_AT_ONCE = 64;
const INSTANCES_AT_ONCE = 256;

export const zookeeperSource: SourceFactory<'zookeeper'> = (init) => new ZooKeeperSource(init);

interface IfaceState {
  iface: string;
  /** Every child seen at the last read, parsed (kept so a re-read parses only new children). */
  parsed: Map<string, Parsed<DubboProvider>>;
  /** Service name -> its providers' child names, sorted: a service is published again only if they changed. */
  signatures: Map<string, string[]>;
}

interface AppState {
  /** Set by a deep listing: the next read re-reads every instance's data (and so sets its watch again). */
  deep: boolean;
  pzxid: bigint;
  instances: Map<string, { mzxid: bigint; endpoint: DiscoveredEndpoint | undefined }>;
}

/** What one session's reads share; replaced with the session, so nothing of an old session leaks into a new one. */
interface Ctx {
  session: ZkSession;
  serial: KeyedSerial;
  watchers: Map<string, Watcher>;
}

function normalizeRoot(path: string, field: string): string {
  const root = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (root === '' || /\/\/|\/\.\.?(\/|$)/.test(root))
    throw new ZooKeeperConfigError(`spec.${field}`, `"${path}" is not a valid ZooKeeper path`);
  return root;
}

const join = (parent: string, child: string) => (parent === '/' ? `/${child}` : `${parent}/${child}`);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

class ZooKeeperSource implements DiscoverySource {
  readonly #spec: SpecOf<'zookeeper'>;
  readonly #sink: SourceSink;
  readonly #connectString: string;
  readonly #dubboRoot: string;
  readonly #servicesRoot: string;
  readonly #sessionTimeoutMs: number;
  readonly #refreshMs: number;

  #ctx: Ctx | undefined;
  #ifaces = new Map<string, IfaceState>();
  #apps = new Map<string, AppState>();
  #badDirs = new Set<string>();
  /** The current services, as the sink will have them after the next flush. */
  #view = new Map<string, DiscoveredService>();
  #published = new Set<string>();
  #dirty = new Set<string>();

  #stopped = true;
  #down = false;
  #hadSnapshot = false;
  #listRunning = false;
  #listPending = false;
  #listDeep = false;
  #retryMs = RETRY_MIN_MS;
  #started: (() => void) | undefined;

  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #expireTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #flushHandle: ReturnType<typeof setImmediate> | undefined;

  constructor(init: SourceInit<'zookeeper'>) {
    const { spec, sink } = init;
    this.#spec = spec;
    this.#sink = sink;
    this.#connectString = spec.addresses.join(',');
    this.#dubboRoot = normalizeRoot(spec.dubboRoot, 'dubboRoot');
    this.#servicesRoot = normalizeRoot(spec.servicesRoot, 'servicesRoot');
    this.#sessionTimeoutMs = durationMs(spec.sessionTimeout);
    this.#refreshMs = durationMs(spec.refreshInterval);
    if (this.#sessionTimeoutMs < 1000)
      throw new ZooKeeperConfigError('spec.sessionTimeout', 'must be at least 1s (ZooKeeper raises it to 2 ticks)');
    if (this.#refreshMs < 100) throw new ZooKeeperConfigError('spec.refreshInterval', 'must be at least 100ms');
  }

  start(): Promise<void> {
    if (!this.#stopped) return Promise.resolve();
    this.#stopped = false;
    // A restarted source starts from nothing: its first snapshot says what exists.
    this.#ifaces.clear();
    this.#apps.clear();
    this.#badDirs.clear();
    this.#view.clear();
    this.#published.clear();
    this.#dirty.clear();
    this.#down = false;
    this.#hadSnapshot = false;
    this.#listPending = false;
    this.#listDeep = false;
    this.#retryMs = RETRY_MIN_MS;
    const started = new Promise<void>((resolve) => {
      this.#started = resolve;
    });
    this.#openSession();
    this.#refreshTimer = setInterval(() => {
      if (this.#ctx?.session.connected && !this.#down) this.#requestListing(false);
    }, this.#refreshMs);
    return started;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#refreshTimer);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#expireTimer);
    clearTimeout(this.#retryTimer);
    if (this.#flushHandle !== undefined) clearImmediate(this.#flushHandle);
    this.#flushHandle = undefined;
    this.#started?.();
    const ctx = this.#ctx;
    this.#ctx = undefined;
    await ctx?.session.close();
  }

  // --- sessions -------------------------------------------------------------------------------------------------

  #openSession(): void {
    const session: ZkSession = new ZkSession({
      connectString: this.#connectString,
      sessionTimeoutMs: this.#sessionTimeoutMs,
      digest: this.#spec.credentials?.digest,
      onState: (state) => {
        if (!this.#stopped && this.#ctx?.session === session) this.#sessionState(session, state);
      },
    });
    this.#ctx = { session, serial: new KeyedSerial(), watchers: new Map() };
    session.connect();
    clearTimeout(this.#connectTimer);
    const connectMs = Math.min(this.#sessionTimeoutMs, CONNECT_TIMEOUT_MS);
    this.#connectTimer = setTimeout(() => {
      if (!session.connected && this.#ctx?.session === session)
        this.#markDown(new ZooKeeperUnavailableError(`cannot connect to ZooKeeper at ${this.#connectString}`));
    }, connectMs);
  }

  #replaceSession(): void {
    const old = this.#ctx?.session;
    this.#openSession();
    void old?.close();
  }

  #sessionState(session: ZkSession, state: SessionState): void {
    switch (state) {
      case 'connected':
        clearTimeout(this.#connectTimer);
        clearTimeout(this.#expireTimer);
        this.#requestListing(true);
        return;
      case 'disconnected':
        this.#markDown(new ZooKeeperUnavailableError(`lost the connection to ZooKeeper at ${this.#connectString}`));
        clearTimeout(this.#expireTimer);
        this.#replaceSession();
        return;
      case 'expired':
        this.#markDown(new ZooKeeperUnavailableError('ZooKeeper session expired'));
        this.#replaceSession();
        return;
      case 'auth-failed':
        // The client gives up after an auth failure; a new one tries again after a backoff.
        this.#markDown(new ZooKeeperUnavailableError('ZooKeeper rejected the credentials'));
        clearTimeout(this.#expireTimer);
        this.#expireTimer = setTimeout(() => {
          if (this.#ctx?.session === session) this.#replaceSession();
        }, this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        return;
    }
  }

  // --- listings -------------------------------------------------------------------------------------------------

  #requestListing(deep: boolean): void {
    this.#listPending = true;
    this.#listDeep ||= deep;
    if (!this.#listRunning) void this.#listLoop();
  }

  async #listLoop(): Promise<void> {
    this.#listRunning = true;
    try {
      while (this.#listPending && !this.#stopped) {
        const ctx = this.#ctx;
        // Not connected: the next 'connected' asks again.
        if (ctx === undefined || !ctx.session.connected) return;
        const deep = this.#listDeep;
        this.#listPending = false;
        this.#listDeep = false;
        try {
          await this.#listAll(ctx, deep);
          // A listing that raced a disconnect proves nothing about the registry being back.
          if (this.#stopped || ctx !== this.#ctx || !ctx.session.connected) continue;
          this.#snapshot();
        } catch (err) {
          if (this.#stopped || ctx !== this.#ctx) continue;
          if (isConnectionError(err) && !ctx.session.connected) continue;
          this.#markDown(new ZooKeeperUnavailableError(`listing ZooKeeper failed: ${message(err)}`, err));
          this.#scheduleRetry(() => this.#requestListing(true));
        }
      }
    } finally {
      this.#listRunning = false;
    }
  }

  async #listAll(ctx: Ctx, deep: boolean): Promise<void> {
    const ifacesBefore = new Set(this.#ifaces.keys());
    const appsBefore = new Set(this.#apps.keys());
    const dubbo = async () => {
      // Reading the root reads every interface it adds; the ones known before are read again here.
      await ctx.serial.run(`c:${this.#dubboRoot}`, () => this.#readDubboRoot(ctx));
      const known = [...this.#ifaces.keys()].filter((dir) => ifacesBefore.has(dir));
      await eachLimited(known, IFACES_AT_ONCE, (dir) => this.#runIface(ctx, dir));
    };
    const apps = async () => {
      await ctx.serial.run(`c:${this.#servicesRoot}`, () => this.#readServicesRoot(ctx));
      const known = [...this.#apps.keys()].filter((name) => appsBefore.has(name));
      await eachLimited(known, APPS_AT_ONCE, (name) => {
        const app = this.#apps.get(name);
        if (app !== undefined && deep) app.deep = true;
        return this.#runApp(ctx, name);
      });
    };
    await Promise.all([dubbo(), apps()]);
  }

  // --- Dubbo interface-level ------------------------------------------------------------------------------------

  #providersPath(dir: string): string {
    return join(join(this.#dubboRoot, dir), 'providers');
  }

  #runIface(ctx: Ctx, dir: string): Promise<void> {
    return ctx.serial.run(`c:${this.#providersPath(dir)}`, () => this.#readIface(ctx, dir));
  }

  /** A backendRef may name the interface alone or one of its version/group services. */
  #wantIface(iface: string): boolean {
    const services = this.#spec.services;
    return services === undefined || services.some((s) => s === iface || s.startsWith(`providers:${iface}:`));
  }

  async #readDubboRoot(ctx: Ctx): Promise<void> {
    const root = this.#dubboRoot;
    const children = await this.#listChildren(ctx, root, () =>
      this.#track(
        ctx,
        ctx.serial.run(`c:${root}`, () => this.#readDubboRoot(ctx)),
      ),
    );
    const next = new Map<string, string>();
    const dirs = children?.children ?? [];
    const present = new Set(dirs);
    for (const dir of this.#badDirs) if (!present.has(dir)) this.#badDirs.delete(dir);
    for (const dir of dirs) {
      const iface = decodeJavaUrlComponent(dir);
      if (iface === undefined) {
        if (!this.#badDirs.has(dir)) {
          this.#badDirs.add(dir);
          this.#skipped(dir, 'bad URL encoding in the interface name', dir);
        }
        continue;
      }
      if (this.#wantIface(iface)) next.set(dir, iface);
    }
    for (const dir of this.#ifaces.keys()) if (!next.has(dir)) this.#dropIface(ctx, dir);
    const added: string[] = [];
    for (const [dir, iface] of next) {
      if (this.#ifaces.has(dir)) continue;
      this.#ifaces.set(dir, { iface, parsed: new Map(), signatures: new Map() });
      added.push(dir);
    }
    await eachLimited(added, IFACES_AT_ONCE, (dir) => this.#runIface(ctx, dir));
  }

  #dropIface(ctx: Ctx, dir: string): void {
    const state = this.#ifaces.get(dir);
    if (state === undefined) return;
    this.#ifaces.delete(dir);
    ctx.watchers.delete(`c:${this.#providersPath(dir)}`);
    for (const name of state.signatures.keys()) this.#setService(name, undefined);
  }

  async #readIface(ctx: Ctx, dir: string): Promise<void> {
    const state = this.#ifaces.get(dir);
    if (state === undefined) return;
    const path = this.#providersPath(dir);
    let listed: { children: string[]; revision: string } | null;
    try {
      const res = await this.#listChildren(ctx, path, () => {
        if (this.#ifaces.has(dir)) this.#track(ctx, this.#runIface(ctx, dir));
      });
      listed = res === null ? null : { children: res.children, revision: zxid(res.stat.pzxid).toString() };
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.#skipped(state.iface, `cannot list ${path}: ${message(err)}`);
      return;
    }
    if (this.#ifaces.get(dir) !== state) return;

    const parsed = new Map<string, Parsed<DubboProvider>>();
    const groups = new Map<string, { children: string[]; endpoints: DiscoveredEndpoint[] }>();
    for (const child of (listed?.children ?? []).sort()) {
      let result = state.parsed.get(child);
      if (result === undefined) {
        result = parseDubboProvider(child, state.iface);
        // Reported once, when the child first shows up.
        if (!result.ok) this.#skipped(state.iface, result.reason, child);
      }
      parsed.set(child, result);
      if (!result.ok) continue;
      const { service, endpoint } = result.value;
      if (this.#spec.services !== undefined && !wanted(this.#spec, service) && !wanted(this.#spec, state.iface))
        continue;
      let group = groups.get(service);
      if (group === undefined) {
        group = { children: [], endpoints: [] };
        groups.set(service, group);
      }
      group.children.push(child);
      group.endpoints.push(endpoint);
    }
    state.parsed = parsed;

    const signatures = new Map<string, string[]>();
    for (const [name, group] of groups) {
      signatures.set(name, group.children);
      const before = state.signatures.get(name);
      if (
        before === undefined ||
        before.length !== group.children.length ||
        before.some((c, i) => c !== group.children[i])
      )
        this.#setService(name, { name, endpoints: group.endpoints, revision: listed?.revision ?? '0' });
    }
    for (const name of state.signatures.keys()) if (!signatures.has(name)) this.#setService(name, undefined);
    state.signatures = signatures;
  }

  // --- Curator instances (Spring Cloud, Dubbo 3 application-level) ---------------------------------------------

  #appPath(name: string): string {
    return join(this.#servicesRoot, name);
  }

  #runApp(ctx: Ctx, name: string): Promise<void> {
    return ctx.serial.run(`c:${this.#appPath(name)}`, () => this.#readApp(ctx, name));
  }

  async #readServicesRoot(ctx: Ctx): Promise<void> {
    const root = this.#servicesRoot;
    const children = await this.#listChildren(ctx, root, () =>
      this.#track(
        ctx,
        ctx.serial.run(`c:${root}`, () => this.#readServicesRoot(ctx)),
      ),
    );
    const next = new Set((children?.children ?? []).filter((name) => wanted(this.#spec, name)));
    for (const name of this.#apps.keys()) if (!next.has(name)) this.#dropApp(ctx, name);
    const added = [...next].filter((name) => !this.#apps.has(name));
    for (const name of added) this.#apps.set(name, { deep: true, pzxid: 0n, instances: new Map() });
    await eachLimited(added, APPS_AT_ONCE, (name) => this.#runApp(ctx, name));
  }

  #dropApp(ctx: Ctx, name: string): void {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    this.#apps.delete(name);
    const path = this.#appPath(name);
    ctx.watchers.delete(`c:${path}`);
    for (const id of app.instances.keys()) ctx.watchers.delete(`d:${join(path, id)}`);
    this.#setService(name, undefined);
  }

  async #readApp(ctx: Ctx, name: string): Promise<void> {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    const deep = app.deep;
    app.deep = false;
    const path = this.#appPath(name);
    let listed: { children: string[]; stat: { pzxid: Buffer } } | null;
    try {
      listed = await this.#listChildren(ctx, path, () => {
        if (this.#apps.has(name)) this.#track(ctx, this.#runApp(ctx, name));
      });
    } catch (err) {
      if (isConnectionError(err)) throw err;
      app.deep ||= deep;
      this.#skipped(name, `cannot list ${path}: ${message(err)}`);
      return;
    }
    if (this.#apps.get(name) !== app) return;
    if (listed === null) {
      // The service node is gone (the root's watch says so too).
      this.#dropApp(ctx, name);
      return;
    }
    app.pzxid = zxid(listed.stat.pzxid);
    const ids = new Set(listed.children);
    for (const id of app.instances.keys()) {
      if (ids.has(id)) continue;
      app.instances.delete(id);
      ctx.watchers.delete(`d:${join(path, id)}`);
    }
    const toRead = listed.children.filter((id) => deep || !app.instances.has(id));
    await eachLimited(toRead, INSTANCES_AT_ONCE, (id) => this.#runInstance(ctx, name, id));
    if (this.#apps.get(name) === app) this.#publishApp(name, app);
  }

  #runInstance(ctx: Ctx, name: string, id: string): Promise<void> {
    return ctx.serial.run(`d:${join(this.#appPath(name), id)}`, () => this.#readInstance(ctx, name, id));
  }

  async #readInstance(ctx: Ctx, name: string, id: string): Promise<void> {
    const app = this.#apps.get(name);
    if (app === undefined) return;
    const path = join(this.#appPath(name), id);
    const watcher = this.#watcher(ctx, `d:${path}`, () => {
      const current = this.#apps.get(name);
      if (current === undefined) return;
      this.#track(
        ctx,
        this.#runInstance(ctx, name, id).then(() => {
          // A deleted instance is published by the service's child watch, after it has read the instances that
          // arrived with the change: publishing here would show a moving single instance as an empty set.
          if (this.#apps.get(name) === current && current.instances.has(id)) this.#publishApp(name, current);
        }),
      );
    });
    let res: { data: Buffer | null; stat: { mzxid: Buffer } } | null;
    try {
      res = await ctx.session.data(path, watcher);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.#skipped(name, `cannot read ${path}: ${message(err)}`);
      return;
    }
    if (this.#apps.get(name) !== app) return;
    if (res === null) {
      app.instances.delete(id);
      ctx.watchers.delete(`d:${path}`);
      return;
    }
    const mzxid = zxid(res.stat.mzxid);
    // Same version as last read (a deep listing re-reads to set the watch again): nothing to parse.
    if (app.instances.get(id)?.mzxid === mzxid) return;
    const parsed = parseCuratorInstance(res.data);
    if (!parsed.ok) this.#skipped(name, `instance ${id}: ${parsed.reason}`, res.data?.toString('utf8', 0, RAW_PREVIEW));
    app.instances.set(id, { mzxid, endpoint: parsed.ok ? parsed.value : undefined });
  }

  #publishApp(name: string, app: AppState): void {
    const endpoints: DiscoveredEndpoint[] = [];
    let revision = app.pzxid;
    for (const instance of app.instances.values()) {
      if (instance.endpoint !== undefined) endpoints.push(instance.endpoint);
      if (instance.mzxid > revision) revision = instance.mzxid;
    }
    this.#setService(name, { name, endpoints, revision: revision.toString() });
  }

  // --- shared -------------------------------------------------------------------------------------------------

  /** One stable watcher per path and session, so reading a path again doesn't stack listeners in the client. */
  #watcher(ctx: Ctx, key: string, fire: () => void): Watcher {
    let watcher = ctx.watchers.get(key);
    if (watcher === undefined) {
      watcher = () => {
        if (!this.#stopped && this.#ctx === ctx) fire();
      };
      ctx.watchers.set(key, watcher);
    }
    return watcher;
  }

  /** Children with a child watch; for a missing node, null and an existence watch (which fires on its creation). */
  async #listChildren(
    ctx: Ctx,
    path: string,
    fire: () => void,
  ): Promise<{ children: string[]; stat: { pzxid: Buffer } } | null> {
    const watcher = this.#watcher(ctx, `c:${path}`, fire);
    for (let attempt = 0; ; attempt++) {
      const res = await ctx.session.children(path, watcher);
      if (res !== null) return res;
      // Created between the two calls: list it after all.
      if ((await ctx.session.exists(path, watcher)) === null || attempt === 2) return null;
    }
  }

  /** A watch-driven read: its result is flushed to the sink; a failure other than the connection's re-lists. */
  #track(ctx: Ctx, read: Promise<void>): void {
    read.then(
      () => this.#scheduleFlush(),
      (err: unknown) => {
        if (this.#stopped || ctx !== this.#ctx || isConnectionError(err)) return;
        // A root that couldn't be read has no watch set: a listing reads it (and sets it) again.
        this.#scheduleRetry(() => this.#requestListing(false));
      },
    );
  }

  #setService(name: string, service: DiscoveredService | undefined): void {
    if (service === undefined) {
      if (!this.#view.delete(name)) return;
    } else {
      this.#view.set(name, service);
    }
    this.#dirty.add(name);
  }

  #scheduleFlush(): void {
    if (this.#flushHandle !== undefined || this.#dirty.size === 0 || this.#stopped) return;
    this.#flushHandle = setImmediate(() => {
      this.#flushHandle = undefined;
      this.#flush();
    });
  }

  /** Changes go out as update/remove between snapshots; while down (or before the first snapshot) they wait for it. */
  #flush(): void {
    if (this.#down || !this.#hadSnapshot || this.#stopped) return;
    for (const name of this.#dirty) {
      const service = this.#view.get(name);
      if (service !== undefined) {
        this.#published.add(name);
        this.#call((sink) => sink.update(service));
      } else if (this.#published.delete(name)) {
        this.#call((sink) => sink.remove(name));
      }
    }
    this.#dirty.clear();
  }

  #snapshot(): void {
    this.#dirty.clear();
    this.#published = new Set(this.#view.keys());
    this.#down = false;
    this.#hadSnapshot = true;
    this.#retryMs = RETRY_MIN_MS;
    const services = [...this.#view.values()];
    this.#call((sink) => sink.snapshot(services));
    this.#started?.();
  }

  #markDown(err: Error): void {
    if (this.#stopped) return;
    if (!this.#down) {
      this.#down = true;
      this.#call((sink) => sink.down(err));
    }
    this.#started?.();
  }

  #skipped(service: string, reason: string, raw?: string): void {
    this.#call((sink) => sink.skipped(service, reason, raw));
  }

  #scheduleRetry(action: () => void): void {
    if (this.#retryTimer !== undefined || this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#stopped) action();
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  /** The sink is the syncer's; a throw there must not break a watch callback or a listing. */
  #call(fn: (sink: SourceSink) => void): void {
    try {
      fn(this.#sink);
    } catch {
      // the syncer logs its own failures
    }
  }
}
