/**
 * Java type names as Dubbo metadata and RpcMappings write them: `int`, `java.lang.String`, `com.example.Item[]`,
 * `[B`, `java.util.List<com.example.Item>`, `java.util.Map<java.lang.String, java.lang.Object>`.
 */
export interface JavaType {
  /** The raw class name (`java.util.List`), a primitive (`int`), or `[]` for an array. */
  name: string;
  /** Type arguments (List<T>, Map<K,V>), or the element type of an array. */
  args: JavaType[];
}

const PRIMITIVE_DESCRIPTORS: Record<string, string> = {
  boolean: 'Z',
  byte: 'B',
  char: 'C',
  short: 'S',
  int: 'I',
  long: 'J',
  float: 'F',
  double: 'D',
  void: 'V',
};
const DESCRIPTOR_PRIMITIVES: Record<string, string> = Object.fromEntries(
  Object.entries(PRIMITIVE_DESCRIPTORS).map(([k, v]) => [v, k]),
);

export function parseJavaType(text: string): JavaType {
  const parser = new TypeParser(text);
  const type = parser.type();
  parser.end();
  return type;
}

export function arrayOf(element: JavaType): JavaType {
  return { name: '[]', args: [element] };
}

/** `java.util.List<com.example.Item>` (the form Dubbo metadata uses). */
export function formatJavaType(type: JavaType): string {
  if (type.name === '[]') return `${formatJavaType(type.args[0] as JavaType)}[]`;
  if (type.args.length === 0) return type.name;
  return `${type.name}<${type.args.map(formatJavaType).join(',')}>`;
}

/** The JVM descriptor Dubbo sends for a parameter list: `Ljava/lang/String;I[B`. Generic arguments are erased. */
export function parameterDescriptor(parameterTypes: readonly string[]): string {
  return parameterTypes.map((t) => typeDescriptor(parseJavaType(t))).join('');
}

function typeDescriptor(type: JavaType): string {
  if (type.name === '[]') return `[${typeDescriptor(type.args[0] as JavaType)}`;
  return PRIMITIVE_DESCRIPTORS[type.name] ?? `L${type.name.replaceAll('.', '/')};`;
}

class TypeParser {
  readonly #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  type(): JavaType {
    this.#space();
    // JVM array names: [B, [Ljava.lang.String;, [[I
    if (this.#text[this.#at] === '[') {
      this.#at++;
      const code = this.#text[this.#at];
      if (code === '[') return arrayOf(this.type());
      if (code === 'L') {
        const end = this.#text.indexOf(';', this.#at);
        if (end < 0) this.#fail('";" closing an array element class');
        const name = this.#text.slice(this.#at + 1, end).replaceAll('/', '.');
        this.#at = end + 1;
        return arrayOf({ name, args: [] });
      }
      const primitive = code === undefined ? undefined : DESCRIPTOR_PRIMITIVES[code];
      if (primitive === undefined) this.#fail('an array element descriptor');
      this.#at++;
      return arrayOf({ name: primitive as string, args: [] });
    }
    const match = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/.exec(this.#text.slice(this.#at));
    if (!match) this.#fail('a type name');
    this.#at += (match as RegExpExecArray)[0].length;
    let type: JavaType = { name: (match as RegExpExecArray)[0], args: [] };
    this.#space();
    if (this.#text[this.#at] === '<') {
      this.#at++;
      for (;;) {
        this.#space();
        if (this.#text[this.#at] === '?') {
          // Wildcards (`? extends T`) stand for their bound, or Object.
          this.#at++;
          this.#space();
          const bound = /^(extends|super)\b/.exec(this.#text.slice(this.#at));
          if (bound) {
            this.#at += bound[0].length;
            type.args.push(bound[1] === 'extends' ? this.type() : { name: 'java.lang.Object', args: [] });
          } else type.args.push({ name: 'java.lang.Object', args: [] });
        } else type.args.push(this.type());
        this.#space();
        const c = this.#text[this.#at++];
        if (c === '>') break;
        if (c !== ',') this.#fail('"," or ">"');
      }
    }
    for (;;) {
      this.#space();
      if (this.#text.startsWith('[]', this.#at)) {
        this.#at += 2;
        type = arrayOf(type);
      } else if (this.#text.startsWith('...', this.#at)) {
        this.#at += 3;
        type = arrayOf(type);
      } else break;
    }
    return type;
  }

  end(): void {
    this.#space();
    if (this.#at !== this.#text.length) this.#fail('the end of the type');
  }

  #space(): void {
    while (this.#text[this.#at] === ' ') this.#at++;
  }

  #fail(expected: string): never {
    throw new TypeError(`invalid Java type "${this.#text}": expected ${expected} at offset ${this.#at}`);
  }
}
