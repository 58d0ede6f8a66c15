/**
 * The ZooKeeper session core: connects, lists every layout's tree, keeps their watches, replaces a lost session
 * and tells the sink only what it can stand behind. Layouts (dubbo-layout.ts, curator-layout.ts) read through the
 * SessionTree it hands them and report services to its view.
 *
 * Child watches (and data watches) are one-shot, so every read that answers a watch sets it again. A full listing
 * runs on connect, on every reconnect (deep: every node's data is read again) and every refreshInterval (children
 * only, plus the data of nodes not seen before), and ends in sink.snapshot(). Reads are pipelined: a listing issues
 * all of a level's reads at once and the session caps what is in flight.
 *
 * A disconnect calls sink.down() once and replaces the session at once: the source owns no ephemeral nodes, the
 * deep listing after connecting sets every watch again anyway, and resuming would make the client re-send all its
 * watches in one SetWatches packet, which ZooKeeper refuses above `jute.maxbuffer` (1 MB, ~18,000 watches) and then
 * drops the connection, forever (measured by bench/discovery/scale.ts). While down, changes wait for the next
 * snapshot, so the sink keeps the last known good services.
 */
import type { DiscoveredService, DiscoverySource, SourceSink } from '../../source.ts';
import { ZooKeeperUnavailableError } from './errors.ts';
import { errorMessage, type ServiceView, type SessionTree, type ZkLayout } from './layout.ts';
import { KeyedSerial } from './serial.ts';
import { isConnectionError, type SessionState, type Watcher, ZkSession } from './session.ts';

const CONNECT_TIMEOUT_MS = 3000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

export interface SessionCoreOptions {
  connectString: string;
  sessionTimeoutMs: number;
  refreshMs: number;
  /** `user:password` for the digest scheme. */
  digest: string | undefined;
  sink: SourceSink;
  /** The layouts to list, built over the core's service view. */
  layouts(view: ServiceView): ZkLayout[];
}

/** One session and what its reads share; replaced with the session. */
interface Ctx {
  session: ZkSession;
  tree: SessionTree;
}

export class SessionCore implements DiscoverySource {
  readonly #connectString: string;
  readonly #sessionTimeoutMs: number;
  readonly #refreshMs: number;
  readonly #digest: string | undefined;
  readonly #sink: SourceSink;
  readonly #layouts: ZkLayout[];

  #ctx: Ctx | undefined;
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
  #authRetryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Replaces a client that did not connect in time. */
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #flushHandle: ReturnType<typeof setImmediate> | undefined;

  constructor(options: SessionCoreOptions) {
    this.#connectString = options.connectString;
    this.#sessionTimeoutMs = options.sessionTimeoutMs;
    this.#refreshMs = options.refreshMs;
    this.#digest = options.digest;
    this.#sink = options.sink;
    this.#layouts = options.layouts({
      setService: (name, service) => this.#setService(name, service),
      skipped: (service, reason, raw) => this.#call((sink) => sink.skipped(service, reason, raw)),
    });
  }

  /** Resolves after the first snapshot or the first down(), whichever comes first. */
  start(): Promise<void> {
    if (!this.#stopped) return Promise.resolve();
    this.#stopped = false;
    // A restarted source starts from nothing: its first snapshot says what exists.
    for (const layout of this.#layouts) layout.reset();
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
    clearTimeout(this.#authRetryTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#reconnectTimer);
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
      digest: this.#digest,
      onState: (state) => {
        if (!this.#stopped && this.#ctx?.session === session) this.#sessionState(session, state);
      },
    });
    const ctx: Ctx = { session, tree: this.#treeOf(session, () => ctx) };
    this.#ctx = ctx;
    session.connect();
    clearTimeout(this.#connectTimer);
    const connectMs = Math.min(this.#sessionTimeoutMs, CONNECT_TIMEOUT_MS);
    this.#connectTimer = setTimeout(() => {
      if (session.connected || this.#ctx?.session !== session) return;
      this.#markDown(new ZooKeeperUnavailableError(`cannot connect to ZooKeeper at ${this.#connectString}`));
      // A client that never connects is not left to itself (one stuck connecting is never replaced by a state
      // change): a new one tries after a backoff, until one gets through.
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = setTimeout(() => {
        if (!this.#stopped && !session.connected && this.#ctx?.session === session) this.#replaceSession();
      }, this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
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
        clearTimeout(this.#authRetryTimer);
        clearTimeout(this.#reconnectTimer);
        this.#requestListing(true);
        return;
      case 'disconnected':
        this.#markDown(new ZooKeeperUnavailableError(`lost the connection to ZooKeeper at ${this.#connectString}`));
        clearTimeout(this.#authRetryTimer);
        this.#replaceSession();
        return;
      case 'expired':
        this.#markDown(new ZooKeeperUnavailableError('ZooKeeper session expired'));
        this.#replaceSession();
        return;
      case 'auth-failed':
        // The client gives up after an auth failure; a new one tries again after a backoff.
        this.#markDown(new ZooKeeperUnavailableError('ZooKeeper rejected the credentials'));
        clearTimeout(this.#authRetryTimer);
        this.#authRetryTimer = setTimeout(() => {
          if (this.#ctx?.session === session) this.#replaceSession();
        }, this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        return;
    }
  }

  /**
   * The reads a layout makes on one session. Watch callbacks are kept one per path and session, so reading a path
   * again doesn't stack listeners in the client, and fire only while this session is the current one.
   */
  #treeOf(session: ZkSession, self: () => Ctx): SessionTree {
    const serial = new KeyedSerial();
    const watchers = new Map<string, Watcher>();
    const watcher = (key: string, fire: () => void): Watcher => {
      let w = watchers.get(key);
      if (w === undefined) {
        w = () => {
          if (!this.#stopped && this.#ctx === self()) fire();
        };
        watchers.set(key, w);
      }
      return w;
    };
    return {
      serialChildren: (path, read) => serial.run(`c:${path}`, read),
      serialData: (path, read) => serial.run(`d:${path}`, read),
      children: async (path, fire) => {
        const w = watcher(`c:${path}`, fire);
        for (let attempt = 0; ; attempt++) {
          const res = await session.children(path, w);
          if (res !== null) return res;
          // Created between the two calls: list it after all.
          if ((await session.exists(path, w)) === null || attempt === 2) return null;
        }
      },
      data: (path, fire) => session.data(path, watcher(`d:${path}`, fire)),
      unwatchChildren: (path) => {
        watchers.delete(`c:${path}`);
      },
      unwatchData: (path) => {
        watchers.delete(`d:${path}`);
      },
      track: (read) => {
        read.then(
          () => this.#scheduleFlush(),
          (err: unknown) => {
            if (this.#stopped || this.#ctx !== self() || isConnectionError(err)) return;
            // A root that couldn't be read has no watch set: a listing reads it (and sets it) again.
            this.#scheduleRetry(() => this.#requestListing(false));
          },
        );
      },
    };
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
          await Promise.all(this.#layouts.map((layout) => layout.list(ctx.tree, deep)));
          // A listing that raced a disconnect proves nothing about the registry being back.
          if (this.#stopped || ctx !== this.#ctx || !ctx.session.connected) continue;
          this.#snapshot();
        } catch (err) {
          if (this.#stopped || ctx !== this.#ctx) continue;
          if (isConnectionError(err) && !ctx.session.connected) continue;
          this.#markDown(new ZooKeeperUnavailableError(`listing ZooKeeper failed: ${errorMessage(err)}`, err));
          this.#scheduleRetry(() => this.#requestListing(true));
        }
      }
    } finally {
      this.#listRunning = false;
    }
  }

  // --- what the sink gets -----------------------------------------------------------------------------------------

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
