/**
 * HTTP/2 frames written by hand over a plain socket (RFC 9113 section 4), so a test says exactly what goes on the
 * wire and no client library corrects it. Header blocks use HPACK literals without indexing (RFC 7541 6.2.2),
 * never Huffman: easy to read in a test, valid for any decoder.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 0x3, MAX_HEADER_LIST_SIZE: 0x6 } as const;
export const ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  ENHANCE_YOUR_CALM: 11,
};

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

/** A header block of literal fields without indexing, new names: 0x00, name, value. */
export function headerBlock(headers: [string, string][]): Buffer {
  return Buffer.concat(headers.flatMap(([n, v]) => [Buffer.from([0]), hpackString(n), hpackString(v)]));
}

export function requestHeaders(path = '/', extra: [string, string][] = []): Buffer {
  return headerBlock([[':method', 'GET'], [':scheme', 'http'], [':authority', 'edge.test'], [':path', path], ...extra]);
}

/** A header block split into HEADERS + CONTINUATION frames of at most 16 KiB (the default SETTINGS_MAX_FRAME_SIZE). */
export function headersFrames(stream: number, block: Buffer, endStream: boolean): Buffer {
  const max = 16_384;
  const frames: Buffer[] = [];
  for (let at = 0; at < block.length || at === 0; at += max) {
    const last = at + max >= block.length;
    const flags = (last ? FLAG.END_HEADERS : 0) | (at === 0 && endStream ? FLAG.END_STREAM : 0);
    frames.push(frame(at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, flags, stream, block.subarray(at, at + max)));
    if (last) break;
  }
  return Buffer.concat(frames);
}

export function rstStream(stream: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

/** Reads frames off a socket as they come; `until` waits for a condition on what was read (or the close). */
export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  closedAt = 0;
  readonly socket: Socket;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 9) {
        const len = this.#buf.readUIntBE(0, 3);
        if (this.#buf.length < 9 + len) break;
        this.frames.push({
          type: this.#buf[3]!,
          flags: this.#buf[4]!,
          stream: this.#buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.#buf.subarray(9, 9 + len),
        });
        this.#buf = this.#buf.subarray(9 + len);
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
      this.#wake();
    });
    socket.on('error', () => {});
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** True once pred holds; false if ms pass first. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (!pred()) {
      const left = end - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 100));
      });
    }
    return true;
  }

  /** The client preface and an empty SETTINGS; waits for the server's SETTINGS and ACKs them. */
  async handshake(): Promise<Map<number, number>> {
    this.socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    const got = await this.until(() => this.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0), 3000);
    if (!got) throw new Error('no SETTINGS from the server');
    this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    const settings = this.frames.find((f) => f.type === FRAME.SETTINGS && f.flags === 0)!;
    const out = new Map<number, number>();
    for (let i = 0; i + 6 <= settings.payload.length; i += 6)
      out.set(settings.payload.readUInt16BE(i), settings.payload.readUInt32BE(i + 2));
    return out;
  }

  find(type: number, stream?: number): Frame | undefined {
    return this.frames.find((f) => f.type === type && (stream === undefined || f.stream === stream));
  }

  /** GOAWAY's error code, or undefined if none came. */
  goawayCode(): number | undefined {
    const g = this.find(FRAME.GOAWAY);
    return g === undefined ? undefined : g.payload.readUInt32BE(4);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function connectRaw(port: number): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(new RawH2(s)));
    s.once('error', reject);
  });
}

/** HTTP/2 over TLS (ALPN h2), frames still written by hand. */
export function connectRawTls(port: number): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false }, () =>
      resolve(new RawH2(s)),
    );
    s.once('error', reject);
  });
}
