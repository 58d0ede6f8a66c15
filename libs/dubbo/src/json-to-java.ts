import { DubboArgumentError } from './errors.ts';
import { typed } from './hessian.ts';
import { formatJavaType, type JavaType, parseJavaType } from './java-types.ts';

/**
 * What Dubbo metadata says of a class (the shape of its TypeDefinition): field types for a POJO, constant names for
 * an enum. Keyed by class name in `JavaTypeDefinitions`.
 */
export interface JavaTypeDefinition {
  /** Field name -> Java type (`long`, `java.util.List<com.example.Item>`). */
  properties?: Record<string, string>;
  /** Enum constant names. */
  enums?: string[];
}
export type JavaTypeDefinitions = Readonly<Record<string, JavaTypeDefinition>>;

export interface JsonToJavaOptions {
  /** Class definitions for POJOs and enums; without one, a POJO's fields are mapped by their JSON type. */
  types?: JavaTypeDefinitions;
  /** Path prefix of error messages (default `args`). */
  path?: string;
}

/**
 * JSON arguments -> Hessian values for a generic call (`$invoke`), one per parameter type, with the Java wire type
 * each parameter needs:
 * - int/short/byte (and boxed): a JSON integer (or integer string) in range; long/Long: a safe integer or a
 *   decimal string (beyond 2^53 it must be a string); double/float: a number;
 * - BigDecimal, BigInteger: a decimal string (or a number); Date: an ISO-8601 string or epoch milliseconds;
 *   LocalDateTime, LocalDate, LocalTime and other java.time types: their ISO string (the provider parses it);
 * - enums: the constant name (checked against `types` when known); byte[]: base64;
 * - arrays, List, Set, Collection: a JSON array; Map: a JSON object (keys stay strings);
 * - a POJO: a JSON object, sent as a map with `class` so the provider builds the POJO; with its definition in
 *   `types`, each field maps by its declared type and an unknown field is an error;
 * - null for any non-primitive. java.lang.Object and undeclared fields map by JSON type: an integer in int range
 *   as Integer, a larger safe integer as Long, other numbers as Double.
 * Throws `DubboArgumentError` (400) naming the path (`args[0].items[2].quantity`) and the expected type.
 */
export function jsonToJava(
  parameterTypes: readonly string[],
  args: readonly unknown[],
  options: JsonToJavaOptions = {},
): unknown[] {
  const root = options.path ?? 'args';
  if (args.length !== parameterTypes.length) {
    throw new DubboArgumentError(root, `${parameterTypes.length} arguments`, `${args.length}`);
  }
  const mapper = new Mapper(options.types ?? {});
  return parameterTypes.map((t, i) => mapper.map(parseJavaType(t), args[i], `${root}[${i}]`));
}

const INT_TYPES = new Set(['int', 'java.lang.Integer', 'short', 'java.lang.Short', 'byte', 'java.lang.Byte']);
const INT_RANGES: Record<string, [number, number]> = {
  short: [-32768, 32767],
  byte: [-128, 127],
};
export const LONG_TYPES: ReadonlySet<string> = new Set(['long', 'java.lang.Long']);
export const DOUBLE_TYPES: ReadonlySet<string> = new Set(['double', 'java.lang.Double', 'float', 'java.lang.Float']);
export const BOOLEAN_TYPES: ReadonlySet<string> = new Set(['boolean', 'java.lang.Boolean']);
const STRING_TYPES = new Set(['java.lang.String', 'java.lang.CharSequence']);
const CHAR_TYPES = new Set(['char', 'java.lang.Character']);
export const DATE_TYPES: ReadonlySet<string> = new Set(['java.util.Date', 'java.sql.Timestamp', 'java.sql.Date']);
export const LIST_TYPES: ReadonlySet<string> = new Set([
  'java.util.List',
  'java.util.ArrayList',
  'java.util.LinkedList',
  'java.util.Collection',
  'java.util.Set',
  'java.util.HashSet',
  'java.util.LinkedHashSet',
  'java.util.SortedSet',
  'java.util.TreeSet',
  'java.lang.Iterable',
]);
export const MAP_TYPES: ReadonlySet<string> = new Set([
  'java.util.Map',
  'java.util.HashMap',
  'java.util.LinkedHashMap',
  'java.util.TreeMap',
  'java.util.SortedMap',
  'java.util.concurrent.ConcurrentHashMap',
]);
const OBJECT = 'java.lang.Object';
export const PRIMITIVES: ReadonlySet<string> = new Set([
  'int',
  'long',
  'short',
  'byte',
  'double',
  'float',
  'boolean',
  'char',
]);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** ISO-8601 local/zoned date-times, dates and times as java.time parses them. */
const JAVA_TIME = /^[0-9T:.+\-Z[\]/A-Za-z_]+$/;

class Mapper {
  readonly #types: JavaTypeDefinitions;

  constructor(types: JavaTypeDefinitions) {
    this.#types = types;
  }

  map(type: JavaType, value: unknown, path: string): unknown {
    const name = type.name;
    if (value === null || value === undefined) {
      if (PRIMITIVES.has(name)) throw mismatch(path, name, value);
      return null;
    }
    if (INT_TYPES.has(name)) return typed('int', this.#integer(type, value, path));
    if (LONG_TYPES.has(name)) return typed('long', this.#long(name, value, path));
    if (DOUBLE_TYPES.has(name)) return typed('double', this.#double(name, value, path));
    if (BOOLEAN_TYPES.has(name)) {
      if (typeof value !== 'boolean') throw mismatch(path, name, value);
      return value;
    }
    if (STRING_TYPES.has(name)) {
      if (typeof value !== 'string') throw mismatch(path, name, value);
      return value;
    }
    if (CHAR_TYPES.has(name)) {
      if (typeof value !== 'string' || value.length !== 1)
        throw mismatch(path, `${name} (a one-character string)`, value);
      return value;
    }
    if (name === 'java.math.BigDecimal') {
      const text = this.#decimalText(name, value, path, DECIMAL);
      return typed('java.math.BigDecimal', { value: text });
    }
    if (name === 'java.math.BigInteger') return this.#decimalText(name, value, path, INTEGER);
    if (DATE_TYPES.has(name)) return this.#date(name, value, path);
    if (name.startsWith('java.time.')) {
      if (typeof value !== 'string' || !JAVA_TIME.test(value))
        throw mismatch(path, `${name} (an ISO-8601 string)`, value);
      return value;
    }
    if (name === '[]') {
      const element = type.args[0] as JavaType;
      if (element.name === 'byte') return this.#bytes(value, path);
      return this.#list(element, value, path, formatJavaType(type));
    }
    if (LIST_TYPES.has(name)) return this.#list(type.args[0] ?? objectType, value, path, formatJavaType(type));
    if (MAP_TYPES.has(name)) return this.#map(type.args[1] ?? objectType, value, path, formatJavaType(type));
    if (name === OBJECT) return this.#natural(value, path);
    return this.#classValue(name, value, path);
  }

  #integer(type: JavaType, value: unknown, path: string): number {
    const n = typeof value === 'string' && INTEGER.test(value.trim()) ? Number(value) : value;
    const [min, max] = INT_RANGES[type.name.replace('java.lang.', '').toLowerCase()] ?? [INT32_MIN, INT32_MAX];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw mismatch(path, `${type.name} (an integer from ${min} to ${max})`, value);
    }
    return n;
  }

  #long(name: string, value: unknown, path: string): number | string {
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return value;
      throw mismatch(path, `${name} (an integer; beyond 2^53 as a decimal string)`, value);
    }
    if (typeof value === 'string' && INTEGER.test(value.trim())) {
      const big = BigInt(value.trim());
      if (big >= INT64_MIN && big <= INT64_MAX) return big.toString();
    }
    throw mismatch(path, `${name} (a 64-bit integer, as a number or a decimal string)`, value);
  }

  #double(name: string, value: unknown, path: string): number {
    const n = typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw mismatch(path, `${name} (a number)`, value);
    return n;
  }

  #decimalText(name: string, value: unknown, path: string, pattern: RegExp): string {
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    if (typeof text !== 'string' || !pattern.test(text.trim()))
      throw mismatch(path, `${name} (a decimal string)`, value);
    return text.trim();
  }

  #date(name: string, value: unknown, path: string): Date {
    const date =
      typeof value === 'number' || (typeof value === 'string' && /^\d{4}-/.test(value)) ? new Date(value) : null;
    if (date === null || Number.isNaN(date.getTime())) {
      throw mismatch(path, `${name} (an ISO-8601 date-time or epoch milliseconds)`, value);
    }
    return date;
  }

  #bytes(value: unknown, path: string): Buffer {
    if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 === 1) {
      throw mismatch(path, 'byte[] (a base64 string)', value);
    }
    return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  }

  #list(element: JavaType, value: unknown, path: string, expected: string): unknown[] {
    if (!Array.isArray(value)) throw mismatch(path, `${expected} (a JSON array)`, value);
    return value.map((item, i) => this.map(element, item, `${path}[${i}]`));
  }

  #map(valueType: JavaType, value: unknown, path: string, expected: string): Record<string, unknown> {
    if (!isPlainObject(value)) throw mismatch(path, `${expected} (a JSON object)`, value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.map(valueType, v, `${path}.${k}`);
    return out;
  }

  #classValue(name: string, value: unknown, path: string): unknown {
    const definition = this.#types[name];
    if (definition?.enums && definition.enums.length > 0) {
      if (typeof value !== 'string' || !definition.enums.includes(value)) {
        throw mismatch(path, `${name} (one of ${definition.enums.join(', ')})`, value);
      }
      return value;
    }
    // An enum without metadata: its name goes as a string; the provider resolves it.
    if (typeof value === 'string' && definition === undefined) return value;
    if (!isPlainObject(value)) throw mismatch(path, `${name} (a JSON object)`, value);
    const out: Record<string, unknown> = { class: name };
    for (const [field, v] of Object.entries(value)) {
      if (field === 'class') continue;
      const declared = definition?.properties?.[field];
      if (definition?.properties && declared === undefined) {
        throw new DubboArgumentError(`${path}.${field}`, `a field of ${name}`, 'an unknown field');
      }
      out[field] =
        declared === undefined
          ? this.#natural(v, `${path}.${field}`)
          : this.map(parseJavaType(declared), v, `${path}.${field}`);
    }
    return out;
  }

  /** A value with no declared type: Integer, Long or Double by size, strings, booleans, lists and maps. */
  #natural(value: unknown, path: string): unknown {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return typed('int', value);
      if (Number.isSafeInteger(value)) return typed('long', value);
      return typed('double', value);
    }
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map((item, i) => this.#natural(item, `${path}[${i}]`));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.#natural(v, `${path}.${k}`);
      return out;
    }
    throw mismatch(path, 'a JSON value', value);
  }
}

const objectType: JavaType = { name: OBJECT, args: [] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mismatch(path: string, expected: string, value: unknown): DubboArgumentError {
  return new DubboArgumentError(path, expected, describe(value));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
