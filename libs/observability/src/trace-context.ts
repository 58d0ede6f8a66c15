/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header:
 * `<version:2 hex>-<trace-id:32 hex>-<parent-id:16 hex>-<trace-flags:2 hex>`, lowercase.
 */

export interface TraceContext {
  version: string;
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span. */
  parentId: string;
  /** trace-flags as a number; bit 0 = sampled. */
  flags: number;
}

// One pass over the fixed layout; the all-zero and version rules are checked after.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/** The parsed header, or undefined when it breaks any rule of the spec (the caller then starts a new trace). */
export function parseTraceparent(header: string | undefined | null): TraceContext | undefined {
  if (typeof header !== 'string' || header.length < 55) return undefined;
  const value = header.trim();
  if (!TRACEPARENT.test(value)) return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff') return undefined;
  // Version 00 is exactly 55 chars. A later version may append fields after another '-': read what we know.
  if (version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  return { version, traceId, parentId, flags: Number.parseInt(value.slice(53, 55), 16) };
}

// Trace, span and request ids identify, they do not protect anything: V8's Math.random (xorshift128+) is enough
// (the OpenTelemetry JS SDK makes its ids the same way) and costs a fraction of a crypto draw per request.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Number#toString(16) is slow in V8 (~250 ns); four table lookups are not.
function hex8(): string {
  const n = (Math.random() * 0x100000000) >>> 0;
  return HEX[n >>> 24]! + HEX[(n >>> 16) & 0xff]! + HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
}

function randomHex(bytes: number, notZero: string): string {
  for (;;) {
    let hex = '';
    for (let i = 0; i < bytes; i += 4) hex += hex8();
    if (hex !== notZero) return hex; // all-zero ids are invalid; at 2^-64 odds, just draw again
  }
}

/** A random version-4 UUID for x-request-id (the same shape as crypto.randomUUID, a fraction of its cost). */
export function newRequestId(): string {
  const a = hex8();
  const b = hex8();
  const c = hex8();
  const d = hex8();
  const variant = ((Number.parseInt(c[0]!, 16) & 0x3) | 0x8).toString(16);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

/** A new 8-byte span id (16 hex digits, never all zero). */
export function newSpanId(): string {
  return randomHex(8, ZERO_PARENT);
}

/** A new 16-byte trace id (32 hex digits, never all zero). */
export function newTraceId(): string {
  return randomHex(16, ZERO_TRACE);
}

export function formatTraceparent(ctx: Pick<TraceContext, 'traceId' | 'parentId' | 'flags'>): string {
  return `00-${ctx.traceId}-${ctx.parentId}-${(ctx.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The traceparent to send upstream: same trace id and flags, our hop's new parent id. We speak version 00,
 * so a later version's extra fields are dropped (as the spec asks). Absent or invalid: a fresh, sampled trace
 * (flag 01, so backends with a parent-based sampler record it).
 */
export function nextTraceparent(incoming?: string | null): string {
  const ctx = parseTraceparent(incoming);
  if (ctx === undefined) return `00-${newTraceId()}-${newSpanId()}-01`;
  const flags = ctx.flags < 16 ? `0${ctx.flags.toString(16)}` : ctx.flags.toString(16);
  return `00-${ctx.traceId}-${newSpanId()}-${flags}`;
}
