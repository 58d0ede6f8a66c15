/**
 * Nacos's UDP push to v1 clients. A client that lists a service with `udpPort` (and `clientIP`) is sent
 * `{"type":"dom","data":"<ServiceInfo JSON>","lastRefTime":<server nanoTime>}` (gzip-compressed when 1 KiB or
 * more) whenever the service changes, and acks each packet to the sender's address with
 * `{"type":"push-ack","lastRefTime":<the same number>,"data":""}`; the server re-sends until acked. Packets of
 * other types are answered `unknown-ack`.
 *
 * lastRefTime is a JVM nanoTime and may exceed 2^53, so it is echoed digit for digit from the packet text rather
 * than through a JS number. Packets from hosts other than the registry's are dropped unacked (anyone on the network
 * could otherwise inject endpoints); the periodic re-query still finds the change.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { gunzipSync } from 'node:zlib';

export interface PushReceiverOptions {
  /** Address to bind (127.0.0.1 when the registry is local, else 0.0.0.0). */
  bind: string;
  /** True when a packet from this address may be trusted. */
  trusted: (address: string) => boolean;
  /** A pushed ServiceInfo (parsed JSON, still unchecked). */
  onServiceInfo: (payload: unknown) => void;
}

const MAX_PACKET_BYTES = 16 * 1024 * 1024;
const LAST_REF_TIME = /"lastRefTime"\s*:\s*(-?\d+)/;

export class PushReceiver {
  readonly #opts: PushReceiverOptions;
  #socket: Socket | undefined;
  #port = 0;

  constructor(opts: PushReceiverOptions) {
    this.#opts = opts;
  }

  /** The bound UDP port; 0 before start() or when binding failed. */
  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.#opts.bind, port: 0, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {
      // A send to a vanished server can fail; the server re-sends and the re-query covers the rest.
    });
    socket.on('message', (msg, rinfo) => this.#onMessage(socket, msg, rinfo));
    this.#socket = socket;
    this.#port = socket.address().port;
  }

  close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#port = 0;
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }

  #onMessage(socket: Socket, msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.#opts.trusted(rinfo.address)) return;
    let text: string;
    let packet: { type?: unknown; data?: unknown };
    try {
      const bytes = msg[0] === 0x1f && msg[1] === 0x8b ? gunzipSync(msg, { maxOutputLength: MAX_PACKET_BYTES }) : msg;
      text = bytes.toString('utf8');
      packet = JSON.parse(text) as typeof packet;
    } catch {
      return; // not a Nacos packet: no ack, nothing applied
    }
    const lastRefTime = LAST_REF_TIME.exec(text)?.[1] ?? '0';
    const type = packet.type === 'dom' ? 'push-ack' : 'unknown-ack';
    socket.send(`{"type":"${type}","lastRefTime":${lastRefTime},"data":""}`, rinfo.port, rinfo.address);
    if (packet.type !== 'dom' || typeof packet.data !== 'string') return;
    let info: unknown;
    try {
      info = JSON.parse(packet.data);
    } catch {
      return;
    }
    this.#opts.onServiceInfo(info);
  }
}
