/**
 * One node-zookeeper-client connection as promises: reads are pipelined (many in flight on the one socket, capped
 * so the client's per-request queues stay short), a read that can never complete is rejected when the session is
 * closed, and a connection that stops answering is dropped so the client reconnects.
 *
 * node-zookeeper-client keeps its socket and state in a private `connectionManager`; close() and the watchdog
 * reach into it because the public API can't tear down a client that is mid-reconnect or stuck on a dead socket.
 */
import type { Socket } from 'node:net';
import { type Client, createClient, type Event, Exception, type Stat, State } from 'node-zookeeper-client';

export type Watcher = (event: Event) => void;
export type SessionState = 'connected' | 'disconnected' | 'expired' | 'auth-failed';

export interface ZkSessionOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** `user:password` for the digest scheme. */
  digest?: string | undefined;
  /** Requests in flight at once (default 512). */
  maxInFlight?: number;
  onState(state: SessionState): void;
}

/** The session was closed while a request waited; never reaches the sink. */
export class SessionClosedError extends Error {
  constructor() {
    super('ZooKeeper session closed');
    this.name = 'SessionClosedError';
  }
}

/** True for errors that mean "the connection or session went away", which reconnecting resolves. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof SessionClosedError) return true;
  if (!(err instanceof Exception)) return false;
  const code = err.getCode();
  return (
    code === Exception.CONNECTION_LOSS || code === Exception.SESSION_EXPIRED || code === Exception.OPERATION_TIMEOUT
  );
}

/** A zxid (8 bytes, big-endian) as a bigint. */
export function zxid(buffer: Buffer): bigint {
  return buffer.length >= 8 ? buffer.readBigUInt64BE(0) : 0n;
}

interface ConnectionManagerInternals {
  state: number;
  socket?: Socket;
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  onSocketData(chunk: Buffer): void;
}
const CM_CLOSING = -1;
const CM_CLOSED = -2;

/**
 * The client's data handler re-copies the rest of a socket chunk for every reply in it (quadratic in replies per
 * chunk: ~45x the bytes for 700-byte replies, most of a listing's CPU and GC). Feeding it one complete frame at a
 * time (ZooKeeper frames are length-prefixed) keeps its own buffering idle. Bound per connection, so installed on
 * the instance before connect().
 */
function framePackets(cm: ConnectionManagerInternals): void {
  const original = cm.onSocketData;
  let socket: Socket | undefined;
  let parts: Buffer[] = [];
  let have = 0;
  cm.onSocketData = function (this: ConnectionManagerInternals, chunk: Buffer) {
    if (this.socket !== socket) {
      // A new connection: whatever was buffered belonged to the old one.
      socket = this.socket;
      parts = [];
      have = 0;
    }
    if (chunk.length === 0) return;
    parts.push(chunk);
    have += chunk.length;
    while (have >= 4) {
      const head = parts[0]!.length >= 4 ? parts[0]! : Buffer.concat(parts, have);
      const frame = 4 + head.readInt32BE(0);
      if (have < frame) return;
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
      let offset = 0;
      while (all.length - offset >= 4) {
        const end = offset + 4 + all.readInt32BE(offset);
        if (end > all.length) break;
        try {
          original.call(this, all.subarray(offset, end));
        } catch {
          // A packet the client cannot read (it throws from this socket handler, which would end the process):
          // drop the connection; the client reconnects and the source reports the registry down meanwhile.
          parts = [];
          have = 0;
          this.socket?.destroy();
          return;
        }
        if (this.socket !== socket) return; // the handler dropped the connection
        offset = end;
      }
      const rest = all.subarray(offset);
      parts = rest.length > 0 ? [rest] : [];
      have = rest.length;
    }
  };
}

interface Task {
  start(): void;
  fail(err: Error): void;
}

export class ZkSession {
  readonly #client: Client;
  readonly #maxInFlight: number;
  readonly #onState: (state: SessionState) => void;
  #connected = false;
  #closed = false;
  #inFlight = new Set<Task>();
  #waiting: Task[] = [];
  #waitingHead = 0;
  #lastProgress = Date.now();
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #corked = false;

  constructor(opts: ZkSessionOptions) {
    this.#maxInFlight = opts.maxInFlight ?? 512;
    this.#onState = opts.onState;
    this.#client = createClient(opts.connectString, { sessionTimeout: opts.sessionTimeoutMs, spinDelay: 1000 });
    if (opts.digest !== undefined) this.#client.addAuthInfo('digest', Buffer.from(opts.digest));
    const cm = this.#internals();
    if (cm !== undefined && typeof cm.onSocketData === 'function') framePackets(cm);
    this.#client.on('state', (state: State) => this.#stateChanged(state));
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The negotiated session timeout once connected, the requested one before. */
  get timeoutMs(): number {
    return this.#client.getSessionTimeout();
  }

  connect(): void {
    this.#client.connect();
    this.#watchdog = setInterval(() => this.#checkProgress(), 1000);
    this.#watchdog.unref();
  }

  /** Children and the node's stat, or null when the node doesn't exist. */
  children(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat } | null> {
    return this.#request((done) => {
      const cb = (err: Error | Exception | null, children: string[], stat: Stat) =>
        done(err, () => ({ children, stat }));
      if (watcher === undefined) this.#client.getChildren(path, cb);
      else this.#client.getChildren(path, watcher, cb);
    });
  }

  /** Data (null when empty) and stat, or null when the node doesn't exist. */
  data(path: string, watcher?: Watcher): Promise<{ data: Buffer | null; stat: Stat } | null> {
    return this.#request((done) => {
      const cb = (err: Error | Exception | null, data: Buffer, stat: Stat) =>
        done(err, () => ({ data: data ?? null, stat }));
      if (watcher === undefined) this.#client.getData(path, cb);
      else this.#client.getData(path, watcher, cb);
    });
  }

  /** The node's stat or null; the watcher fires when it is created (or changes, if it exists). */
  exists(path: string, watcher: Watcher): Promise<Stat | null> {
    return this.#request((done) => this.#client.exists(path, watcher, (err, stat) => done(err, () => stat ?? null)));
  }

  /** Rejects every waiting request, closes the session and tears the client down (within ~1 s). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearInterval(this.#watchdog);
    const err = new SessionClosedError();
    for (const task of [...this.#inFlight, ...this.#waiting.slice(this.#waitingHead)]) task.fail(err);
    this.#inFlight.clear();
    this.#waiting = [];
    this.#waitingHead = 0;
    const cm = this.#internals();
    try {
      this.#client.close();
    } catch {
      // already closed or never connected: torn down below
    }
    const deadline = Date.now() + 1000;
    while (cm !== undefined && cm.state !== CM_CLOSED && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (cm !== undefined && cm.state !== CM_CLOSED) {
      // CLOSING stops the reconnect loop; destroying the socket ends the session's last handle.
      cm.state = CM_CLOSING;
      if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
      cm.socket?.destroy();
    }
  }

  #request<T>(issue: (done: (err: Error | Exception | null, value: () => T) => void) => void): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.#closed) {
        reject(new SessionClosedError());
        return;
      }
      let settled = false;
      const task: Task = {
        start: () => {
          this.#inFlight.add(task);
          this.#corkForTick();
          try {
            issue((err, value) => {
              if (settled) return;
              settled = true;
              this.#inFlight.delete(task);
              this.#lastProgress = Date.now();
              this.#next();
              if (err === null) resolve(value());
              else if (err instanceof Exception && err.getCode() === Exception.NO_NODE) resolve(null);
              else reject(err);
            });
          } catch (err) {
            // The client asserts on bad paths synchronously.
            task.fail(err instanceof Error ? err : new Error(String(err)));
            this.#next();
          }
        },
        fail: (err) => {
          if (settled) return;
          settled = true;
          this.#inFlight.delete(task);
          reject(err);
        },
      };
      if (this.#inFlight.size < this.#maxInFlight) task.start();
      else this.#waiting.push(task);
    });
  }

  /** The client writes each request on its own; corking until the next tick sends a burst in one write. */
  #corkForTick(): void {
    if (this.#corked) return;
    const socket = this.#internals()?.socket;
    if (socket === undefined || socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  #next(): void {
    while (this.#inFlight.size < this.#maxInFlight && this.#waitingHead < this.#waiting.length && !this.#closed) {
      const task = this.#waiting[this.#waitingHead++]!;
      if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#waitingHead);
        this.#waitingHead = 0;
      }
      task.start();
    }
  }

  #stateChanged(state: State): void {
    if (this.#closed) return;
    if (state === State.SYNC_CONNECTED || state === State.CONNECTED_READ_ONLY) {
      this.#connected = true;
      this.#lastProgress = Date.now();
      this.#onState('connected');
    } else if (state === State.DISCONNECTED) {
      this.#connected = false;
      this.#onState('disconnected');
    } else if (state === State.EXPIRED) {
      this.#connected = false;
      this.#onState('expired');
    } else if (state === State.AUTH_FAILED) {
      this.#connected = false;
      this.#onState('auth-failed');
    }
  }

  /** Requests waiting with no answer for 2/3 of the session timeout: the socket is dead, drop it to reconnect. */
  #checkProgress(): void {
    if (!this.#connected || this.#inFlight.size === 0) return;
    if (Date.now() - this.#lastProgress <= (this.timeoutMs * 2) / 3) return;
    this.#lastProgress = Date.now();
    this.#internals()?.socket?.destroy();
  }

  #internals(): ConnectionManagerInternals | undefined {
    return (this.#client as unknown as { connectionManager?: ConnectionManagerInternals }).connectionManager;
  }
}
