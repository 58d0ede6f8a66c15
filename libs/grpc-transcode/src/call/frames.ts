/**
 * HTTP framing of streamed messages.
 *
 * Response (server streaming): NDJSON, `application/x-ndjson`, one JSON value per line; or SSE,
 * `text/event-stream`, one `data: <json>` event per message. A stream that fails after it started ends with
 * the `google.rpc.Status` JSON: in SSE an `event: error` event, in NDJSON a last line `{"error": <status>}` (the
 * shape grpc-gateway streams errors in). Chosen from the request's `Accept`; NDJSON unless SSE is preferred.
 *
 * Request (client streaming): an NDJSON body split into JSON values, line by line, whatever the chunking.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { JsonValue } from '@bufbuild/protobuf';
import { GrpcCallOptionError, NdjsonLineError, NdjsonLineTooLongError } from './errors.ts';
import type { RpcStatusJson } from './status.ts';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';
export const SSE_CONTENT_TYPE = 'text/event-stream';

export interface StreamFraming {
  readonly kind: 'ndjson' | 'sse';
  readonly contentType: string;
  /** One response message, framed. */
  message(value: JsonValue): Buffer;
  /** The failure that ends a stream which already started, framed. */
  error(status: RpcStatusJson): Buffer;
}

export const NDJSON_FRAMING: StreamFraming = Object.freeze({
  kind: 'ndjson',
  contentType: NDJSON_CONTENT_TYPE,
  // JSON.stringify escapes every newline inside strings, so a value is always one line.
  message: (value: JsonValue) => Buffer.from(`${JSON.stringify(value)}\n`),
  error: (status: RpcStatusJson) => Buffer.from(`${JSON.stringify({ error: status })}\n`),
});

export const SSE_FRAMING: StreamFraming = Object.freeze({
  kind: 'sse',
  contentType: SSE_CONTENT_TYPE,
  message: (value: JsonValue) => Buffer.from(`data: ${JSON.stringify(value)}\n\n`),
  error: (status: RpcStatusJson) => Buffer.from(`event: error\ndata: ${JSON.stringify(status)}\n\n`),
});

/**
 * The framing the client asked for: SSE when `Accept` gives `text/event-stream` a higher quality than NDJSON
 * (or lists it first at equal quality), NDJSON otherwise, including with no `Accept` or only `*\/*`.
 */
export function streamFramingFor(accept: string | string[] | undefined): StreamFraming {
  if (accept === undefined) return NDJSON_FRAMING;
  const ranges = (Array.isArray(accept) ? accept.join(',') : accept).split(',');
  let sse = { q: 0, at: Number.POSITIVE_INFINITY };
  let ndjson = { q: 0, at: Number.POSITIVE_INFINITY };
  ranges.forEach((range, at) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = qualityOf(params);
    if (type === SSE_CONTENT_TYPE && q > sse.q) sse = { q, at };
    else if (type === NDJSON_CONTENT_TYPE && q > ndjson.q) ndjson = { q, at };
  });
  if (sse.q === 0) return NDJSON_FRAMING;
  return sse.q > ndjson.q || (sse.q === ndjson.q && sse.at < ndjson.at) ? SSE_FRAMING : NDJSON_FRAMING;
}

function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=').map((part) => part.trim());
    if (name !== 'q') continue;
    const q = Number(value);
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}

export interface NdjsonSplitterOptions {
  /** Longest line accepted, in bytes without its newline; a longer one fails with 413. Default 4 MiB. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * A Transform from NDJSON bytes to the JSON values of its lines (object mode on the readable side). Lines end
 * with `\n` or `\r\n`; blank lines are skipped; the last line needs no newline. A line that is not JSON fails the
 * stream with NdjsonLineError (400), one over the limit with NdjsonLineTooLongError (413), both naming the line.
 */
export class NdjsonSplitter extends Transform {
  readonly #maxLineBytes: number;
  /** The start of the current line, from earlier chunks. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #line = 0;

  constructor(options: NdjsonSplitterOptions = {}) {
    super({ readableObjectMode: true });
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max <= 0) throw new GrpcCallOptionError('maxLineBytes', 'must be an integer > 0');
    this.#maxLineBytes = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      const error = this.#takeLine(chunk.subarray(start, newline));
      if (error !== undefined) return callback(error);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // A line over the limit fails as soon as it is over, before the rest of it is buffered.
      if (this.#pendingBytes + rest.length > this.#maxLineBytes + 1) {
        return callback(new NdjsonLineTooLongError(this.#line + 1, this.#maxLineBytes));
      }
      this.#pending.push(rest);
      this.#pendingBytes += rest.length;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#pendingBytes === 0) return callback();
    callback(this.#takeLine(Buffer.alloc(0)));
  }

  #takeLine(tail: Buffer): Error | undefined {
    this.#line += 1;
    let bytes = this.#pendingBytes === 0 ? tail : Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, -1);
    if (bytes.length > this.#maxLineBytes) return new NdjsonLineTooLongError(this.#line, this.#maxLineBytes);
    let text = bytes.toString('utf8');
    if (this.#line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return undefined;
    try {
      this.push(JSON.parse(text));
    } catch (err) {
      return new NdjsonLineError(this.#line, err instanceof Error ? err.message : String(err), err);
    }
    return undefined;
  }
}
