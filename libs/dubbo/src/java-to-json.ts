/**
 * A decoded value (see `fromHessian`) as JSON: Date -> ISO-8601 string (UTC, milliseconds), Buffer (byte[]) ->
 * base64, POJO maps without their `class` key; everything else as it is (longs beyond 2^53, BigDecimal and
 * BigInteger are strings already, LocalDateTime is Java's toString, enums are names).
 */
export function javaToJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(javaToJson);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A generic call's provider names each POJO's class in a `class` entry; JSON clients do not need it.
    if (k === 'class' && typeof v === 'string') continue;
    out[k] = javaToJson(v);
  }
  return out;
}
