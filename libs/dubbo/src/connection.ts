import { connect, type Socket } from 'node:net';
import { type DubboResult, decodeResponse } from './codec.ts';
import {
  DubboConnectError,
  DubboConnectionClosedError,
  type DubboError,
  DubboPayloadTooLargeError,
  DubboTimeoutError,
} from './errors.ts';
import {
  type DubboFrame,
  encodeFrame,
  FrameDecoder,
  heartbeatRequest,
  heartbeatResponse,
  isReadonlyEvent,
} from './frame.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Send a heartbeat after this long without reading anything. */
  heartbeatIntervalMs: number;
  /** The connection is dead after this many heartbeat intervals without reading anything. */
  heartbeatMisses: number;
  payloadLimit: number;
}

interface Pending {
  resolve(result: DubboResult): void;
  reject(err: DubboError): void;
  timer: NodeJS.Timeout;
}

export type ConnectionState = 'open' | 'readonly' | 'closed';

/**
 * One TCP connection to a provider, multiplexed: each call has a request id, any number are in flight, answers
 * come in any order. Sends heartbeats when idle and answers the provider's; a provider's READONLY event (sent when
 * it starts shutting down) makes the connection `readonly`: it takes no new calls, in-flight ones finish.
 */
export class DubboConnection {
  readonly endpoint: string;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #decoder: FrameDecoder;
  readonly #pending = new Map<bigint, Pending>();
  readonly #closeListeners: Array<(conn: DubboConnection) => void> = [];
  readonly #drainListeners: Array<(conn: DubboConnection) => void> = [];
  #nextId = 1n;
  #state: ConnectionState = 'open';
  #lastReadAt = Date.now();
  #heartbeat: NodeJS.Timeout | undefined;

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.endpoint = `${options.host}:${options.port}`;
    this.#socket = socket;
    this.#options = options;
    this.#decoder = new FrameDecoder({ payloadLimit: options.payloadLimit });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err.message, err));
    socket.on('close', () => this.#fail('socket closed by the provider'));
    this.#heartbeat = setInterval(
      () => this.#checkHeartbeat(),
      Math.max(10, Math.floor(options.heartbeatIntervalMs / 2)),
    );
    this.#heartbeat.unref();
  }

  static open(options: ConnectionOptions): Promise<DubboConnection> {
    const endpoint = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DubboConnectError(endpoint, new Error(`no connection within ${options.connectTimeoutMs} ms`)));
      }, options.connectTimeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new DubboConnectError(endpoint, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new DubboConnection(socket, options));
      });
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  onClose(listener: (conn: DubboConnection) => void): void {
    this.#closeListeners.push(listener);
  }

  /** Called when a readonly connection has no call left in flight. */
  onDrained(listener: (conn: DubboConnection) => void): void {
    this.#drainListeners.push(listener);
  }

  /** Sends a request body (see `encodeRequestBody`) and resolves with the decoded answer. */
  call(body: Buffer, timeoutMs: number): Promise<DubboResult> {
    if (this.#state !== 'open') {
      return Promise.reject(new DubboConnectionClosedError(this.endpoint, `connection is ${this.#state}`));
    }
    if (body.length > this.#options.payloadLimit) {
      return Promise.reject(
        new DubboPayloadTooLargeError('request', body.length, this.#options.payloadLimit, this.endpoint),
      );
    }
    const id = this.#nextId++;
    return new Promise<DubboResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id);
        reject(new DubboTimeoutError(`no answer within ${timeoutMs} ms`, this.endpoint));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#socket.write(encodeFrame({ request: true, twoWay: true, id, body }));
    });
  }

  /** Closes now; calls in flight fail with DubboConnectionClosedError. */
  close(): void {
    this.#fail('connection closed by the client');
  }

  #onData(chunk: Buffer): void {
    this.#lastReadAt = Date.now();
    let frames: DubboFrame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail((err as Error).message, err);
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(frame: DubboFrame): void {
    if (frame.request) {
      if (!frame.event) return; // a provider never calls its consumer here
      if (isReadonlyEvent(frame)) this.#becomeReadonly();
      else if (frame.twoWay) this.#socket.write(heartbeatResponse(frame.id));
      return;
    }
    if (frame.event) return; // the answer to our heartbeat: reading it was the point
    const pending = this.#settle(frame.id);
    if (!pending) return; // timed out already
    try {
      pending.resolve(decodeResponse(frame.status, frame.body, this.endpoint));
    } catch (err) {
      pending.reject(err as DubboError);
    }
  }

  #settle(id: bigint): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (this.#state === 'readonly' && this.#pending.size === 0) queueMicrotask(() => this.#drained());
    return pending;
  }

  #becomeReadonly(): void {
    if (this.#state !== 'open') return;
    this.#state = 'readonly';
    if (this.#pending.size === 0) this.#drained();
  }

  #drained(): void {
    if (this.#state !== 'readonly' || this.#pending.size > 0) return;
    for (const listener of this.#drainListeners) listener(this);
  }

  #checkHeartbeat(): void {
    const idle = Date.now() - this.#lastReadAt;
    if (idle >= this.#options.heartbeatIntervalMs * this.#options.heartbeatMisses) {
      this.#fail(`no heartbeat answer for ${idle} ms`);
    } else if (idle >= this.#options.heartbeatIntervalMs) {
      this.#socket.write(heartbeatRequest(this.#nextId++));
    }
  }

  #fail(why: string, cause?: unknown): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearInterval(this.#heartbeat);
    this.#socket.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new DubboConnectionClosedError(this.endpoint, why, cause));
    }
    for (const listener of this.#closeListeners) listener(this);
  }
}
