/**
 * The gRPC clients of a gateway: one grpc-js Client (one HTTP/2 channel, h2c) per `address:port`, made on first
 * use, closed once it has had no call in flight for `idleMs`, and all closed by close(), which also ends every
 * call still in flight with UNAVAILABLE.
 */
import { isIPv6 } from 'node:net';
import { type ChannelOptions, Client, credentials, status } from '@grpc/grpc-js';
import { GrpcCallOptionError, GrpcChannelsClosedError } from './errors.ts';
import {
  checkGrpcCallRequest,
  type GrpcCall,
  type GrpcCallListener,
  type GrpcCallRequest,
  startGrpcCall,
} from './invoke.ts';

export interface GrpcEndpoint {
  address: string;
  port: number;
}

export interface GrpcChannelsOptions {
  /** A channel with no call in flight for this long is closed. Default 60 s. */
  idleMs?: number;
  /** Largest message sent or received, in bytes; a larger one fails the call with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes?: number;
  /** grpc-js channel options, applied over the defaults below. */
  channelOptions?: ChannelOptions;
}

const DEFAULT_IDLE_MS = 60_000;
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Keepalive pings only while calls are in flight, every 5 minutes: the least interval grpc-go and grpc-java servers
 * accept by default (pinging more often gets a GOAWAY "too_many_pings" that fails the calls in flight). A ping
 * unanswered for 20 s closes the connection. Reconnect backoff is capped at 10 s so a restarted backend is used
 * again soon, and no DNS TXT lookups are made for service config: the gateway's config decides. Each channel keeps
 * its own connections (a local subchannel pool), so closing it closes them, whoever else in the process talks to
 * the same address.
 */
const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.initial_reconnect_backoff_ms': 1000,
  'grpc.max_reconnect_backoff_ms': 10_000,
  'grpc.service_config_disable_resolution': 1,
  'grpc.use_local_subchannel_pool': 1,
};

interface Channel {
  readonly key: string;
  readonly client: Client;
  readonly calls: Set<GrpcCall>;
  idleTimer: NodeJS.Timeout | undefined;
}

export class GrpcChannels {
  readonly #idleMs: number;
  readonly #channelOptions: ChannelOptions;
  readonly #channels = new Map<string, Channel>();
  #closed = false;

  constructor(options: GrpcChannelsOptions = {}) {
    const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    if (!Number.isFinite(idleMs) || idleMs <= 0) throw new GrpcCallOptionError('idleMs', 'must be a number > 0');
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0) {
      throw new GrpcCallOptionError('maxMessageBytes', 'must be an integer > 0');
    }
    this.#idleMs = idleMs;
    this.#channelOptions = {
      ...DEFAULT_CHANNEL_OPTIONS,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.max_receive_message_length': maxMessageBytes,
      ...options.channelOptions,
    };
  }

  /** Channels open now. */
  get size(): number {
    return this.#channels.size;
  }

  /** Start a call to `endpoint`; see startGrpcCall. Throws GrpcChannelsClosedError after close(). */
  startCall(endpoint: GrpcEndpoint, req: GrpcCallRequest, listener: GrpcCallListener): GrpcCall {
    if (this.#closed) throw new GrpcChannelsClosedError();
    checkGrpcCallRequest(req);
    const channel = this.#channelFor(endpoint);
    let call: GrpcCall;
    try {
      call = startGrpcCall(channel.client, req, {
        onHeaders: listener.onHeaders?.bind(listener),
        onMessage: (message, self) => listener.onMessage(message, self),
        onDrain: listener.onDrain?.bind(listener),
        onEnd: (final) => {
          this.#release(channel, call);
          listener.onEnd(final);
        },
      });
    } catch (error) {
      // A channel made for a call that never started must still close when idle.
      this.#release(channel, undefined);
      throw error;
    }
    channel.calls.add(call);
    this.#unidle(channel);
    return call;
  }

  /** Close every channel; calls in flight end with UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels.values()) {
      this.#unidle(channel);
      for (const call of [...channel.calls]) call.cancel({ code: status.UNAVAILABLE, details: 'gRPC channels closed' });
      channel.client.close();
    }
    this.#channels.clear();
  }

  #channelFor(endpoint: GrpcEndpoint): Channel {
    const key = isIPv6(endpoint.address)
      ? `[${endpoint.address}]:${endpoint.port}`
      : `${endpoint.address}:${endpoint.port}`;
    let channel = this.#channels.get(key);
    if (channel === undefined) {
      const client = new Client(key, credentials.createInsecure(), this.#channelOptions);
      channel = { key, client, calls: new Set(), idleTimer: undefined };
      this.#channels.set(key, channel);
    }
    return channel;
  }

  #release(channel: Channel, call: GrpcCall | undefined): void {
    if (call !== undefined) channel.calls.delete(call);
    if (channel.calls.size > 0 || this.#closed || this.#channels.get(channel.key) !== channel) return;
    this.#unidle(channel);
    channel.idleTimer = setTimeout(() => {
      channel.idleTimer = undefined;
      if (channel.calls.size > 0) return;
      this.#channels.delete(channel.key);
      channel.client.close();
    }, this.#idleMs);
    channel.idleTimer.unref();
  }

  #unidle(channel: Channel): void {
    if (channel.idleTimer === undefined) return;
    clearTimeout(channel.idleTimer);
    channel.idleTimer = undefined;
  }
}
