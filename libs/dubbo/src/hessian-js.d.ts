/** The part of hessian.js (CommonJS, no bundled types) this lib uses: the Hessian 2.0 encoder and decoder. */
declare module 'hessian.js' {
  export class EncoderV2 {
    constructor(options?: { size?: number });
    write(value: unknown): this;
    writeInt(value: number): this;
    writeString(value: string): this;
    get(): Buffer;
    reset(): this;
  }
  export class DecoderV2 {
    constructor(buf: Buffer, classCache?: Map<string, unknown>);
    /** With `withType`, values come as `{ $class, $ }` and maps carry a hidden `$map` of typed keys. */
    read(withType?: boolean): unknown;
    position(): number;
  }
  const hessian: { EncoderV2: typeof EncoderV2; DecoderV2: typeof DecoderV2 };
  export default hessian;
}
