import { DubboPayloadTooLargeError, DubboProtocolError } from './errors.ts';

/**
 * The Dubbo 2 frame: a 16-byte header, then the body.
 *
 * ```
 * 0-1   magic 0xdabb
 * 2     flags: 0x80 request, 0x40 two-way, 0x20 event; low 5 bits the serialization id (2 = hessian2)
 * 3     status (responses only; 20 = OK)
 * 4-11  request id (signed 64-bit, big-endian)
 * 12-15 body length (32-bit, big-endian)
 * ```
 */
export const MAGIC = 0xdabb;
export const HEADER_LENGTH = 16;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWO_WAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
export const HESSIAN2_SERIALIZATION_ID = 2;
/** Dubbo's default `payload`: the largest body either side accepts. */
export const DEFAULT_PAYLOAD_LIMIT = 8 * 1024 * 1024;
/** Hessian's null: the body of a heartbeat, both ways. */
export const HEARTBEAT_BODY: Buffer = Buffer.from([0x4e]);
/** Hessian2 string "R": the body of the READONLY event a provider sends when it starts shutting down. */
export const READONLY_EVENT_BODY: Buffer = Buffer.from([0x01, 0x52]);

export interface DubboFrame {
  request: boolean;
  twoWay: boolean;
  event: boolean;
  serialization: number;
  /** Response status byte; 0 in requests. */
  status: number;
  id: bigint;
  body: Buffer;
}

export interface FrameFields {
  request: boolean;
  twoWay?: boolean;
  event?: boolean;
  status?: number;
  id: bigint;
  body: Buffer;
}

export function encodeFrame(frame: FrameFields): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + frame.body.length);
  out.writeUInt16BE(MAGIC, 0);
  let flags = HESSIAN2_SERIALIZATION_ID;
  if (frame.request) flags |= FLAG_REQUEST;
  if (frame.twoWay) flags |= FLAG_TWO_WAY;
  if (frame.event) flags |= FLAG_EVENT;
  out[2] = flags;
  out[3] = frame.status ?? 0;
  out.writeBigInt64BE(frame.id, 4);
  out.writeUInt32BE(frame.body.length, 12);
  frame.body.copy(out, HEADER_LENGTH);
  return out;
}

export function heartbeatRequest(id: bigint): Buffer {
  return encodeFrame({ request: true, twoWay: true, event: true, id, body: HEARTBEAT_BODY });
}

/** The answer to a provider's heartbeat request: same id, event flag, status OK, a null body. */
export function heartbeatResponse(id: bigint): Buffer {
  return encodeFrame({ request: false, event: true, status: 20, id, body: HEARTBEAT_BODY });
}

export function isHeartbeat(frame: DubboFrame): boolean {
  return frame.event && frame.body.equals(HEARTBEAT_BODY);
}

export function isReadonlyEvent(frame: DubboFrame): boolean {
  return frame.request && frame.event && frame.body.equals(READONLY_EVENT_BODY);
}

/**
 * Cuts a byte stream into frames, whatever the chunking. Refuses a body over `payloadLimit` as soon as the header
 * announces it (nothing of it is buffered), and a header without the magic: both end the stream.
 */
export class FrameDecoder {
  readonly #payloadLimit: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(options: { payloadLimit?: number } = {}) {
    this.#payloadLimit = options.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT;
  }

  /** Bytes held for a frame not complete yet. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): DubboFrame[] {
    if (chunk.length === 0) return [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: DubboFrame[] = [];
    while (this.#buffered >= HEADER_LENGTH) {
      const header = this.#peek(HEADER_LENGTH);
      const magic = header.readUInt16BE(0);
      if (magic !== MAGIC) {
        throw new DubboProtocolError(`not a dubbo frame: magic 0x${magic.toString(16).padStart(4, '0')}`);
      }
      const length = header.readUInt32BE(12);
      if (length > this.#payloadLimit) {
        throw new DubboPayloadTooLargeError('response', length, this.#payloadLimit);
      }
      if (this.#buffered < HEADER_LENGTH + length) break;
      const bytes = this.#take(HEADER_LENGTH + length);
      const flags = bytes[2] as number;
      frames.push({
        request: (flags & FLAG_REQUEST) !== 0,
        twoWay: (flags & FLAG_TWO_WAY) !== 0,
        event: (flags & FLAG_EVENT) !== 0,
        serialization: flags & SERIALIZATION_MASK,
        status: bytes[3] as number,
        id: bytes.readBigInt64BE(4),
        body: bytes.subarray(HEADER_LENGTH),
      });
    }
    return frames;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first;
    this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] as Buffer;
  }

  #take(n: number): Buffer {
    const whole = this.#peek(n);
    const taken = whole.subarray(0, n);
    const rest = whole.subarray(n);
    this.#chunks[0] = rest;
    if (rest.length === 0) this.#chunks.shift();
    this.#buffered -= n;
    return taken;
  }
}
