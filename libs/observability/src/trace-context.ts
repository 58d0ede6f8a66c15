/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header:
 * `<version:2 hex>-<trace-id:32 hex>-<parent-id:16 hex>-<trace-flags:2 hex>`, lowercase.
 */
import { randomFillSync } from 'node:crypto';

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

// Random bytes come from a pool refilled in one call: a crypto call per request costs more than the rest here.
const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomHex(bytes: number, notZero: string): string {
  for (;;) {
    if (poolOffset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (hex !== notZero) return hex; // all-zero ids are invalid; at 2^-64 odds, just draw again
  }
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
