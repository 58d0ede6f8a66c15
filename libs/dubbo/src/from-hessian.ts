import { isTypedValue } from './hessian.ts';

/**
 * A decoded Hessian value (read with its Java types) as plain JS:
 * - int, short, byte, double, float, boolean, String: number, boolean, string;
 * - long: a number when it is within ±(2^53 - 1), else its exact decimal string (hessian.js reads it so);
 * - BigDecimal, BigInteger: their decimal string (exact; BigInteger rebuilt from hessian-lite's signum and mag);
 * - java.util.Date: a Date; byte[]: a Buffer;
 * - LocalDateTime, LocalDate, LocalTime (hessian-lite's java8 handles): ISO-8601 strings as Java's toString();
 * - enums: their name (a generic call's provider sends the name; in a direct call an object whose only field is
 *   an upper-case `name` is taken for an enum constant);
 * - arrays, lists and sets: arrays; maps and POJOs: plain objects (map keys as strings);
 * - a Throwable: an Error (see `describeException` for its class and message).
 */
export function fromHessian(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (isTypedValue(value)) return fromTyped(value.$class, value.$);
  return fromUntyped(value);
}

function fromUntyped(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value) || value instanceof Date || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map(fromHessian);
  return fromMap(value as Record<string, unknown>);
}

const BIG_DECIMAL = 'java.math.BigDecimal';
const BIG_INTEGER = 'java.math.BigInteger';
const TIME_HANDLE = /\.java8\.(LocalDateTime|LocalDate|LocalTime)Handle$/;

function fromTyped(javaClass: string, inner: unknown): unknown {
  if (inner === null || inner === undefined) return null;
  if (typeof inner !== 'object' || Buffer.isBuffer(inner) || inner instanceof Date || inner instanceof Error) {
    return inner;
  }
  if (Array.isArray(inner)) return inner.map(fromHessian);
  const fields = inner as Record<string, unknown>;
  if (javaClass === BIG_DECIMAL) {
    const text = fromHessian(fields.value);
    if (typeof text === 'string') return text;
  }
  if (javaClass === BIG_INTEGER) return bigIntegerText(fields);
  const time = TIME_HANDLE.exec(javaClass);
  if (time) return formatTime(time[1] as string, fields);
  if (isEnumObject(fields)) return fromHessian(fields.name);
  return fromMap(fields);
}

/** hessian-lite writes a BigInteger field by field: `signum` and `mag`, the big-endian 32-bit words of |value|. */
function bigIntegerText(fields: Record<string, unknown>): string {
  const signum = Number(fromHessian(fields.signum));
  const mag = fromHessian(fields.mag);
  let magnitude = 0n;
  if (Array.isArray(mag)) for (const word of mag) magnitude = (magnitude << 32n) | BigInt(Number(word) >>> 0);
  return (signum < 0 ? -magnitude : magnitude).toString();
}

/** Java Hessian writes an enum constant as an object of its class with the one field `name`. */
function isEnumObject(fields: Record<string, unknown>): boolean {
  const keys = Object.keys(fields);
  if (keys.length !== 1 || keys[0] !== 'name') return false;
  const name = fields.name;
  const text = isTypedValue(name) ? name.$ : name;
  return typeof text === 'string' && /^[A-Z_$][A-Z0-9_$]*$/.test(text);
}

function fromMap(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Maps read with types keep their typed keys in a hidden `$map`; the enumerable keys would be "[object Object]".
  const typedEntries = (fields as { $map?: unknown }).$map;
  if (typedEntries instanceof Map) {
    for (const [k, v] of typedEntries) out[String(fromHessian(k))] = fromHessian(v);
    return out;
  }
  for (const [k, v] of Object.entries(fields)) out[k] = fromHessian(v);
  return out;
}

function formatTime(kind: string, fields: Record<string, unknown>): string {
  const part = (record: unknown, key: string): number => {
    const plain = fromHessian(record) as Record<string, unknown> | null;
    return Number(plain?.[key] ?? 0);
  };
  const date = (record: unknown): string => {
    const year = part(record, 'year');
    const y =
      year < 0 || year > 9999
        ? `${year >= 0 ? '+' : '-'}${String(Math.abs(year)).padStart(6, '0')}`
        : String(year).padStart(4, '0');
    return `${y}-${pad(part(record, 'month'))}-${pad(part(record, 'day'))}`;
  };
  const time = (record: unknown): string => {
    const nano = part(record, 'nano');
    const second = part(record, 'second');
    let text = `${pad(part(record, 'hour'))}:${pad(part(record, 'minute'))}`;
    if (second > 0 || nano > 0) text += `:${pad(second)}`;
    if (nano > 0) {
      const digits = String(nano).padStart(9, '0');
      text += `.${digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits}`;
    }
    return text;
  };
  if (kind === 'LocalDate') return date({ $class: 'x', $: fields });
  if (kind === 'LocalTime') return time({ $class: 'x', $: fields });
  return `${date(fields.date)}T${time(fields.time)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
