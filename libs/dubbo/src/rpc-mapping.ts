/**
 * An RpcMapping compiled to a pure matcher: `match(httpMethod, path)` finds the Dubbo method a REST request maps
 * to, and the found method turns the request's path variables, query, headers and JSON body into the method's
 * arguments, in Java order, typed by the declared parameter types. No I/O.
 *
 * Path templates are literal segments and whole-segment `{name}` variables; a literal segment wins over a variable
 * at the same place. Request segments are percent-decoded before matching (`%2F` inside a segment is a `/` in the
 * variable's value, never a separator). A path no template matches is `notFound`; one that matches with another
 * verb only is `methodNotAllowed` with the verbs it has.
 *
 * Text sources (path, query, header) become the JSON form of their type: integers and decimals as numbers (a long
 * beyond 2^53 stays a decimal string), `true`/`false` as booleans, a Date given as digits as epoch milliseconds,
 * anything else as the string (enums by name, BigDecimal, ISO dates, base64 `byte[]`). A List, Set or array
 * parameter takes every occurrence of a query parameter (`?tag=a&tag=b`), or the comma-separated items of a header
 * or a path variable. The body is JSON: the whole of it is one parameter, or each named parameter is a field of a
 * JSON object body (other fields are a 400).
 */
import type { Attachments } from './codec.ts';
import { DubboArgumentError, DubboOptionError } from './errors.ts';
import { formatJavaType, type JavaType, parseJavaType } from './java-types.ts';
import {
  BOOLEAN_TYPES,
  DATE_TYPES,
  DOUBLE_TYPES,
  type JavaTypeDefinitions,
  jsonToJava,
  LIST_TYPES,
  LONG_TYPES,
  MAP_TYPES,
  PRIMITIVES,
} from './json-to-java.ts';

/** The RpcMapping spec (`@portico/config`'s RpcMappingSpec has this shape). */
export interface RpcMappingInput {
  interface: string;
  version?: string | undefined;
  group?: string | undefined;
  methods: ReadonlyArray<{
    name: string;
    http: { method: string; path: string };
    params?: readonly RpcParamInput[] | undefined;
    attachments?: ReadonlyArray<{ header: string; key: string }> | undefined;
  }>;
}

export interface RpcParamInput {
  from: 'path' | 'query' | 'header' | 'body';
  name?: string | undefined;
  type: string;
  required?: boolean | undefined;
}

export interface RpcMappingOptions {
  /** POJO and enum definitions (from Dubbo metadata): with them, body fields of a POJO are checked by type. */
  types?: JavaTypeDefinitions;
}

type HeaderValue = string | readonly string[] | undefined;
/** Request headers keyed by lower-case name (as Node gives them). */
export type RpcHeaders = Readonly<Record<string, HeaderValue>>;

/** What a found method reads of the request. */
export interface RpcRequest {
  query: URLSearchParams | Readonly<Record<string, HeaderValue>>;
  headers: RpcHeaders;
  /** The whole request body (empty for none). */
  body: Buffer;
}

export interface RpcMethodMatch {
  kind: 'method';
  interface: string;
  version: string | undefined;
  group: string | undefined;
  /** The Java method name. */
  method: string;
  parameterTypes: readonly string[];
  /** Path variables, percent-decoded. */
  pathParams: Readonly<Record<string, string>>;
  /**
   * The arguments as JSON values in parameter order, each checked against its declared type. Throws
   * `DubboArgumentError` (400) naming the parameter (`query.limit`, `body.items[2].quantity`) and the type.
   */
  args(request: RpcRequest): unknown[];
  /** The same checks, with the arguments ready for `DubboClient.invoke` (what `jsonToJava` makes of `args`). */
  javaArgs(request: RpcRequest): unknown[];
  /** The mapped headers present on the request, under their attachment keys. */
  attachments(headers: RpcHeaders): Attachments;
}

export type RpcMatch = RpcMethodMatch | { kind: 'notFound' } | { kind: 'methodNotAllowed'; allowed: readonly string[] };

export interface RpcRoutes {
  readonly interface: string;
  match(httpMethod: string, path: string): RpcMatch;
}

const JAVA_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const PATH_VARIABLE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INT_TYPES = new Set(['int', 'java.lang.Integer', 'short', 'java.lang.Short', 'byte', 'java.lang.Byte']);

interface CompiledParam {
  from: RpcParamInput['from'];
  /** Path variable, query name, lower-case header name, body field; undefined for the whole body. */
  name: string | undefined;
  type: string;
  parsed: JavaType;
  /** For a List/array filled from text: its element type. */
  textItems: JavaType | undefined;
  required: boolean;
  /** How errors name it: `path.id`, `query.limit`, `header.x-user`, `body`, `body.items`. */
  label: string;
}

interface CompiledMethod {
  method: string;
  parameterTypes: readonly string[];
  params: readonly CompiledParam[];
  /** Variable names, in path order. */
  variables: readonly string[];
  attachments: ReadonlyArray<{ header: string; key: string }>;
  /** Named body fields, for the unknown-field check; undefined when no parameter is a body field. */
  bodyFields: ReadonlySet<string> | undefined;
}

interface Node {
  literals: Map<string, Node>;
  variable: Node | undefined;
  /** HTTP verb -> method mapped at this path. */
  methods: Map<string, CompiledMethod>;
}

const newNode = (): Node => ({ literals: new Map(), variable: undefined, methods: new Map() });

/**
 * Compiles a validated RpcMapping spec. Guards what the matcher relies on (templates, types, one binding per verb
 * and path) and throws `DubboOptionError` naming the field (`methods[2].params[0].type`).
 */
export function compileRpcMapping(spec: RpcMappingInput, options: RpcMappingOptions = {}): RpcRoutes {
  if (typeof spec?.interface !== 'string' || !JAVA_NAME.test(spec.interface)) {
    throw new DubboOptionError('interface', 'must be a Java interface name (com.example.OrderService)');
  }
  if (!Array.isArray(spec.methods) || spec.methods.length === 0) {
    throw new DubboOptionError('methods', 'must be a non-empty array');
  }
  const root = newNode();
  spec.methods.forEach((m, i) => {
    const at = `methods[${i}]`;
    const { segments, variables } = parseTemplate(m.http.path, `${at}.http.path`);
    const inputs: readonly RpcParamInput[] = m.params ?? [];
    const attachmentInputs: ReadonlyArray<{ header: string; key: string }> = m.attachments ?? [];
    const params = inputs.map((p, j) => compileParam(p, `${at}.params[${j}]`, variables));
    for (const v of variables) {
      if (!params.some((p) => p.from === 'path' && p.name === v)) {
        throw new DubboOptionError(`${at}.http.path`, `{${v}} is not a path parameter`);
      }
    }
    const fields = params.filter((p) => p.from === 'body' && p.name !== undefined).map((p) => p.name as string);
    const compiled: CompiledMethod = {
      method: m.name,
      parameterTypes: params.map((p) => p.type),
      params,
      variables,
      attachments: attachmentInputs.map((a) => ({ header: a.header.toLowerCase(), key: a.key })),
      bodyFields: fields.length > 0 ? new Set(fields) : undefined,
    };
    let node = root;
    for (const segment of segments) {
      if (segment === undefined) node = node.variable ??= newNode();
      else {
        let next = node.literals.get(segment);
        if (next === undefined) {
          next = newNode();
          node.literals.set(segment, next);
        }
        node = next;
      }
    }
    const verb = m.http.method.toUpperCase();
    if (node.methods.has(verb)) throw new DubboOptionError(`${at}.http`, `${verb} ${m.http.path} is mapped twice`);
    node.methods.set(verb, compiled);
  });
  const service = { interface: spec.interface, version: spec.version, group: spec.group };
  const types = options.types ?? {};
  return {
    interface: spec.interface,
    match(httpMethod, path) {
      const q = path.indexOf('?');
      const found = matchPath(root, q === -1 ? path : path.slice(0, q));
      if (found.length === 0) return { kind: 'notFound' };
      const verb = httpMethod.toUpperCase();
      for (const { node, captures } of found) {
        const m = node.methods.get(verb);
        if (m !== undefined) return bind(service, m, captures, types);
      }
      const allowed = new Set<string>();
      for (const { node } of found) for (const v of node.methods.keys()) allowed.add(v);
      return { kind: 'methodNotAllowed', allowed: [...allowed].sort() };
    },
  };
}

/** Literal segments as text, variables as undefined. */
function parseTemplate(path: string, at: string): { segments: (string | undefined)[]; variables: string[] } {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new DubboOptionError(at, 'must start with "/"');
  if (path === '/') return { segments: [], variables: [] };
  const variables: string[] = [];
  const segments = path
    .slice(1)
    .split('/')
    .map((segment) => {
      const variable = PATH_VARIABLE.exec(segment);
      if (variable) {
        const name = variable[1] as string;
        if (variables.includes(name)) throw new DubboOptionError(at, `{${name}} appears twice`);
        variables.push(name);
        return undefined;
      }
      if (segment === '' || segment.includes('{') || segment.includes('}')) {
        throw new DubboOptionError(at, `"${segment}" must be literal text or a whole {name} variable`);
      }
      return segment;
    });
  return { segments, variables };
}

function compileParam(p: RpcParamInput, at: string, variables: readonly string[]): CompiledParam {
  let parsed: JavaType;
  try {
    parsed = parseJavaType(p.type);
  } catch (err) {
    throw new DubboOptionError(`${at}.type`, (err as Error).message);
  }
  if (p.from !== 'body' && (p.name === undefined || p.name === '')) {
    throw new DubboOptionError(`${at}.name`, `is required for a ${p.from} parameter`);
  }
  if (p.from === 'path' && !variables.includes(p.name as string)) {
    throw new DubboOptionError(`${at}.name`, `"${p.name}" is not a variable of the path`);
  }
  let textItems: JavaType | undefined;
  if (p.from !== 'body') {
    const items = listElement(parsed);
    if (MAP_TYPES.has(parsed.name) || (items !== undefined && (MAP_TYPES.has(items.name) || isCollection(items)))) {
      throw new DubboOptionError(`${at}.type`, `a ${p.from} value is text: use a scalar, an enum, or a List of them`);
    }
    textItems = items;
  }
  const name = p.from === 'header' ? (p.name as string).toLowerCase() : p.name;
  return {
    from: p.from,
    name,
    type: p.type,
    parsed,
    textItems,
    required: p.from === 'path' || p.required === true || PRIMITIVES.has(parsed.name),
    label: name === undefined ? 'body' : `${p.from}.${name}`,
  };
}

/** The element type of a List/Set/array (not byte[], which is one base64 value). */
function listElement(type: JavaType): JavaType | undefined {
  if (type.name === '[]') return type.args[0]?.name === 'byte' ? undefined : type.args[0];
  if (LIST_TYPES.has(type.name)) return type.args[0] ?? { name: 'java.lang.Object', args: [] };
  return undefined;
}

function isCollection(type: JavaType): boolean {
  return type.name === '[]' || LIST_TYPES.has(type.name) || MAP_TYPES.has(type.name);
}

interface PathMatch {
  node: Node;
  captures: string[];
}

/** Every node whose template matches the path and maps some verb, most literal first. */
function matchPath(root: Node, path: string): PathMatch[] {
  if (!path.startsWith('/')) return [];
  const segments: string[] = [];
  if (path !== '/') {
    for (const raw of path.slice(1).split('/')) {
      try {
        segments.push(decodeURIComponent(raw));
      } catch {
        return [];
      }
    }
  }
  const found: PathMatch[] = [];
  const captures: string[] = [];
  const walk = (node: Node, i: number): void => {
    if (i === segments.length) {
      if (node.methods.size > 0) found.push({ node, captures: [...captures] });
      return;
    }
    const segment = segments[i] as string;
    const literal = node.literals.get(segment);
    if (literal !== undefined) walk(literal, i + 1);
    if (node.variable !== undefined && segment !== '') {
      captures.push(segment);
      walk(node.variable, i + 1);
      captures.pop();
    }
  };
  walk(root, 0);
  return found;
}

function bind(
  service: { interface: string; version: string | undefined; group: string | undefined },
  m: CompiledMethod,
  captures: readonly string[],
  types: JavaTypeDefinitions,
): RpcMethodMatch {
  const pathParams: Record<string, string> = {};
  m.variables.forEach((v, i) => {
    pathParams[v] = captures[i] as string;
  });
  const resolve = (request: RpcRequest) => resolveArguments(m, pathParams, request, types);
  return {
    kind: 'method',
    ...service,
    method: m.method,
    parameterTypes: m.parameterTypes,
    pathParams,
    args: (request) => resolve(request).json,
    javaArgs: (request) => resolve(request).java,
    attachments(headers) {
      const out: Attachments = {};
      for (const a of m.attachments) {
        const value = headerText(headers[a.header]);
        if (value !== undefined) out[a.key] = value;
      }
      return out;
    },
  };
}

function resolveArguments(
  m: CompiledMethod,
  pathParams: Readonly<Record<string, string>>,
  request: RpcRequest,
  types: JavaTypeDefinitions,
): { json: unknown[]; java: unknown[] } {
  let body: unknown;
  let bodyRead = false;
  const readBody = (): unknown => {
    if (!bodyRead) {
      bodyRead = true;
      body = parseBody(request.body, m.bodyFields);
    }
    return body;
  };
  const json: unknown[] = [];
  const java: unknown[] = [];
  for (const p of m.params) {
    let value: unknown;
    if (p.from === 'body') {
      const whole = readBody();
      value = p.name === undefined ? whole : (whole as Record<string, unknown> | undefined)?.[p.name];
    } else value = textValue(p, textOf(p, pathParams, request));
    if (value === undefined || value === null) {
      if (p.required) throw new DubboArgumentError(p.label, formatJavaType(p.parsed), 'no value (it is required)');
      value = null;
    }
    json.push(value);
    java.push(toJava(p, value, types));
  }
  return { json, java };
}

/** The raw text values of a path, query or header parameter; [] when absent. */
function textOf(p: CompiledParam, pathParams: Readonly<Record<string, string>>, request: RpcRequest): string[] {
  const name = p.name as string;
  if (p.from === 'path') {
    const value = pathParams[name] as string;
    return p.textItems === undefined ? [value] : value.split(',');
  }
  if (p.from === 'query') {
    const q = request.query;
    if (q instanceof URLSearchParams) return q.getAll(name);
    const v = Object.hasOwn(q, name) ? q[name] : undefined;
    return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
  }
  const value = headerText(request.headers[name]);
  if (value === undefined) return [];
  return p.textItems === undefined ? [value] : value.split(',').map((s) => s.trim());
}

function headerText(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length === 0 ? undefined : value.join(', ');
}

/** Text -> the JSON form of the parameter's type; undefined when absent. */
function textValue(p: CompiledParam, texts: string[]): unknown {
  if (texts.length === 0) return undefined;
  if (p.textItems !== undefined) return texts.map((t) => scalarFromText(p.textItems as JavaType, t));
  if (texts.length > 1) {
    throw new DubboArgumentError(p.label, `${formatJavaType(p.parsed)} (one value)`, `${texts.length} values`);
  }
  return scalarFromText(p.parsed, texts[0] as string);
}

function scalarFromText(type: JavaType, text: string): unknown {
  const name = type.name;
  if (INT_TYPES.has(name)) return INTEGER.test(text) ? Number(text) : text;
  if (LONG_TYPES.has(name)) {
    if (!INTEGER.test(text)) return text;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (DOUBLE_TYPES.has(name)) return DECIMAL.test(text) ? Number(text) : text;
  if (BOOLEAN_TYPES.has(name)) return text === 'true' ? true : text === 'false' ? false : text;
  if (DATE_TYPES.has(name)) return INTEGER.test(text) ? Number(text) : text;
  return text;
}

/** The JSON body: undefined when empty; an object with only the mapped fields when parameters are fields of it. */
function parseBody(raw: Buffer, fields: ReadonlySet<string> | undefined): unknown {
  const text = raw.toString('utf8').trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DubboArgumentError('body', 'JSON', `invalid JSON (${(err as Error).message})`);
  }
  if (fields === undefined) return value;
  const list = [...fields].join(', ');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DubboArgumentError(
      'body',
      `a JSON object with the fields ${list}`,
      Array.isArray(value) ? 'an array' : typeof value,
    );
  }
  for (const key of Object.keys(value)) {
    if (!fields.has(key)) throw new DubboArgumentError(`body.${key}`, `one of the fields ${list}`, 'an unknown field');
  }
  return value;
}

/** jsonToJava for one parameter, its errors naming the parameter rather than an argument index. */
function toJava(p: CompiledParam, value: unknown, types: JavaTypeDefinitions): unknown {
  try {
    return jsonToJava([p.type], [value], { path: p.label, types })[0];
  } catch (err) {
    if (!(err instanceof DubboArgumentError)) throw err;
    const indexed = `${p.label}[0]`;
    if (!err.path.startsWith(indexed)) throw err;
    const got = err.message.slice(`${err.path}: expected ${err.expected}, got `.length);
    throw new DubboArgumentError(`${p.label}${err.path.slice(indexed.length)}`, err.expected, got);
  }
}
