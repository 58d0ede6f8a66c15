/// <reference path="./hessian-js.d.ts" />
import hessian from 'hessian.js';

/** A value as hessian.js writes it with a Java type: `{ $class: 'long', $: '9007199254740993' }`. */
export interface TypedValue {
  $class: string;
  $: unknown;
}

export function typed($class: string, $: unknown): TypedValue {
  return { $class, $ };
}

export function isTypedValue(value: unknown): value is TypedValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { $class?: unknown }).$class === 'string' &&
    Object.hasOwn(value, '$')
  );
}

/** Writes values one after another into one Hessian 2 stream (class definitions and refs shared, as Java reads them). */
export function encodeHessian(values: readonly unknown[]): Buffer {
  const encoder = new hessian.EncoderV2({ size: 4096 });
  for (const value of values) encoder.write(value);
  return encoder.get();
}

/** Reads consecutive values from one Hessian 2 stream, keeping Java types (`{ $class, $ }`). */
export class HessianReader {
  readonly #decoder: InstanceType<typeof hessian.DecoderV2>;
  readonly #length: number;

  constructor(buf: Buffer) {
    this.#decoder = new hessian.DecoderV2(buf);
    this.#length = buf.length;
  }

  get done(): boolean {
    return this.#decoder.position() >= this.#length;
  }

  read(): unknown {
    return this.#decoder.read(true);
  }

  /**
   * Reads without types. A Throwable must be read so: hessian.js turns it into an Error, and only the untyped read
   * keeps its detailMessage.
   */
  readPlain(): unknown {
    return this.#decoder.read(false);
  }
}
