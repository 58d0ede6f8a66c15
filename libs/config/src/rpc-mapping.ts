/**
 * RpcMapping: REST paths and verbs for chosen methods of one Dubbo interface (the counterpart of Higress's
 * Http2Rpc). Each method names where each Java parameter comes from (a path variable, a query parameter, a header,
 * the JSON body or one field of it) and its Java type, and which request headers travel as attachments.
 *
 * The Java type grammar checked here is the one libs/dubbo parses (`int`, `java.lang.String`, `com.example.Item[]`,
 * `[B`, `java.util.List<com.example.Item>`, `java.util.Map<java.lang.String, ?>`); libs/dubbo maps the values.
 */
import { z } from 'zod';
import { HeaderName } from './common.ts';

/** A dotted Java class or interface name. */
const JAVA_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
const JAVA_METHOD = /^[A-Za-z_$][\w$]*$/;
const PATH_VARIABLE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/**
 * RFC 3986 pchar without percent-encoding (literals are matched against decoded request segments) and without
 * `*`, which would read as a wildcard.
 */
const PATH_LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=:@]+$/;
/** Attachment keys: Dubbo's own keys that steer the provider (service key, generic mode, token) are refused. */
const ATTACHMENT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const RESERVED_ATTACHMENTS = new Set([
  'path',
  'interface',
  'version',
  'group',
  'timeout',
  'generic',
  'token',
  'dubbo',
  'methodname',
  'serialization_id',
]);
/** Types a text source (path, query, header) cannot fill: they need a JSON object. */
const MAP_TYPES = new Set([
  'java.util.Map',
  'java.util.HashMap',
  'java.util.LinkedHashMap',
  'java.util.TreeMap',
  'java.util.SortedMap',
  'java.util.concurrent.ConcurrentHashMap',
]);
const DESCRIPTOR_CODES = 'ZBCSIJFD';

export const RPC_MAPPING_MAX_METHODS = 1000;

/** A parsed Java type: a class or primitive name with its type arguments; `[]` for an array of `args[0]`. */
interface JavaTypeShape {
  name: string;
  args: JavaTypeShape[];
}

/** Parses a Java type as libs/dubbo does; throws a message naming the offset on bad syntax. */
function parseJavaTypeShape(text: string): JavaTypeShape {
  let at = 0;
  const fail = (expected: string): never => {
    throw new Error(`expected ${expected} at offset ${at}`);
  };
  const space = () => {
    while (text[at] === ' ') at++;
  };
  const type = (): JavaTypeShape => {
    space();
    if (text[at] === '[') {
      at++;
      if (text[at] === '[') return { name: '[]', args: [type()] };
      if (text[at] === 'L') {
        const end = text.indexOf(';', at);
        if (end < 0) fail('";" closing an array element class');
        const name = text.slice(at + 1, end).replaceAll('/', '.');
        if (!JAVA_NAME.test(name)) fail('a class name');
        at = end + 1;
        return { name: '[]', args: [{ name, args: [] }] };
      }
      if (!DESCRIPTOR_CODES.includes(text[at] ?? '-')) fail('an array element descriptor');
      at++;
      return { name: '[]', args: [{ name: 'primitive', args: [] }] };
    }
    const match = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/.exec(text.slice(at));
    if (!match) return fail('a type name');
    at += match[0].length;
    let shape: JavaTypeShape = { name: match[0], args: [] };
    space();
    if (text[at] === '<') {
      at++;
      for (;;) {
        space();
        if (text[at] === '?') {
          at++;
          space();
          const bound = /^(extends|super)\b/.exec(text.slice(at));
          if (bound) {
            at += bound[0].length;
            shape.args.push(type());
          } else shape.args.push({ name: 'java.lang.Object', args: [] });
        } else shape.args.push(type());
        space();
        const c = text[at++];
        if (c === '>') break;
        if (c !== ',') fail('"," or ">"');
      }
    }
    for (;;) {
      space();
      if (text.startsWith('[]', at)) at += 2;
      else if (text.startsWith('...', at)) at += 3;
      else break;
      shape = { name: '[]', args: [shape] };
    }
    return shape;
  };
  const shape = type();
  space();
  if (at !== text.length) fail('the end of the type');
  return shape;
}

/** A Java type as Dubbo metadata writes it. */
export const JavaTypeName = z
  .string()
  .max(512)
  .superRefine((text, ctx) => {
    try {
      parseJavaTypeShape(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be a Java type name: ${(err as Error).message}` });
    }
  });

export const RpcParamSource = z.enum(['path', 'query', 'header', 'body']);

export const RpcParam = z.strictObject({
  /** Where the value comes from. */
  from: RpcParamSource,
  /**
   * The path variable, query parameter or header name; for `body`, a field of a JSON object body (absent: the
   * whole body is this parameter).
   */
  name: z.string().min(1).max(256).optional(),
  /** The Java parameter type (`long`, `java.lang.String`, `com.example.Order`, `java.util.List<com.example.Item>`). */
  type: JavaTypeName,
  /** A missing value is a 400 (default false: the argument is null). Path variables and primitives always are. */
  required: z.boolean().optional(),
});

export const RpcAttachment = z.strictObject({
  /** The request header read. */
  header: HeaderName,
  /** The attachment key it travels under. */
  key: z
    .string()
    .max(128)
    .regex(ATTACHMENT_KEY, 'must be letters, digits, ".", "_" or "-"')
    .refine((k) => !RESERVED_ATTACHMENTS.has(k.toLowerCase()), {
      message: `must not be a key Dubbo reserves (${[...RESERVED_ATTACHMENTS].join(', ')})`,
    }),
});

export const RpcHttpBinding = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  /** `/orders/{id}/items`: literal segments and whole-segment `{name}` variables. */
  path: z.string().min(1).max(1024),
});

export const RpcMethodMapping = z
  .strictObject({
    /** The Java method name; overloads are told apart by their parameter types. */
    name: z.string().max(256).regex(JAVA_METHOD, 'must be a Java method name'),
    http: RpcHttpBinding,
    /** The method's parameters, in Java order. */
    params: z.array(RpcParam).max(64).default([]),
    attachments: z.array(RpcAttachment).max(32).optional(),
  })
  .superRefine((method, ctx) => {
    const variables = pathVariables(method.http.path, (message) =>
      ctx.addIssue({ code: 'custom', path: ['http', 'path'], message }),
    );
    const used = new Set<string>();
    const seen = new Set<string>();
    let wholeBody = -1;
    let bodyFields = 0;
    method.params.forEach((param, i) => {
      const issue = (message: string, field?: string) =>
        ctx.addIssue({ code: 'custom', path: field ? ['params', i, field] : ['params', i], message });
      if (param.from === 'body') {
        if (param.name === undefined) {
          if (wholeBody >= 0) issue(`the whole body is already params[${wholeBody}]`);
          wholeBody = i;
        } else bodyFields++;
      } else if (param.name === undefined) issue(`required for a ${param.from} parameter`, 'name');
      if (param.from === 'path') {
        if (param.required === false) issue('a path variable is always required', 'required');
        if (param.name !== undefined && variables !== undefined && !variables.includes(param.name)) {
          issue(`is not a variable of http.path (${variables.map((v) => `{${v}}`).join(', ') || 'none'})`, 'name');
        }
        if (param.name !== undefined) used.add(param.name);
      }
      if (param.from === 'header' && param.name !== undefined) {
        const header = HeaderName.safeParse(param.name);
        if (!header.success) issue(header.error.issues[0]?.message ?? 'must be a header name', 'name');
      }
      if (param.name !== undefined) {
        const key = `${param.from}:${param.from === 'header' ? param.name.toLowerCase() : param.name}`;
        if (seen.has(key)) issue(`${param.from} "${param.name}" is already a parameter`, 'name');
        seen.add(key);
      }
      if (param.from !== 'body' && textSourceRejects(param.type)) {
        issue(`a ${param.from} value is text: use a scalar, an enum, or a List or array of them`, 'type');
      }
    });
    if (wholeBody >= 0 && bodyFields > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['params', wholeBody],
        message: 'the whole body cannot be a parameter when other parameters are fields of it',
      });
    }
    for (const v of variables ?? []) {
      if (!used.has(v)) {
        ctx.addIssue({ code: 'custom', path: ['http', 'path'], message: `{${v}} is not a path parameter` });
      }
    }
    const keys = new Set<string>();
    method.attachments?.forEach((a, i) => {
      if (keys.has(a.key)) {
        ctx.addIssue({ code: 'custom', path: ['attachments', i, 'key'], message: `"${a.key}" is already mapped` });
      }
      keys.add(a.key);
    });
  });

export const RpcMappingSpec = z
  .strictObject({
    /** The Dubbo interface whose methods are mapped, e.g. `com.example.OrderService`. */
    interface: z.string().max(512).regex(JAVA_NAME, 'must be a Java interface name (com.example.OrderService)'),
    /** The provider version and group the calls ask for. */
    version: z.string().min(1).max(128).optional(),
    group: z.string().min(1).max(128).optional(),
    methods: z.array(RpcMethodMapping).min(1).max(RPC_MAPPING_MAX_METHODS),
  })
  .superRefine((spec, ctx) => {
    const routes = new Map<string, number>();
    spec.methods.forEach((m, i) => {
      const key = `${m.http.method} ${m.http.path.replace(/\{[^/}]*\}/g, '{}')}`;
      const first = routes.get(key);
      if (first === undefined) routes.set(key, i);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['methods', i, 'http'],
          message: `${m.http.method} ${m.http.path} is already methods[${first}]`,
        });
      }
    });
  });

export type RpcMappingSpec = z.infer<typeof RpcMappingSpec>;
export type RpcMethodMapping = z.infer<typeof RpcMethodMapping>;
export type RpcParam = z.infer<typeof RpcParam>;

/** The variables of a path template in order, or undefined after reporting what is wrong with it. */
function pathVariables(path: string, report: (message: string) => void): string[] | undefined {
  if (!path.startsWith('/')) {
    report('must start with "/"');
    return undefined;
  }
  if (path === '/') return [];
  const variables: string[] = [];
  let ok = true;
  path
    .slice(1)
    .split('/')
    .forEach((segment, i) => {
      const variable = PATH_VARIABLE.exec(segment);
      if (variable) {
        const name = variable[1] as string;
        if (variables.includes(name)) {
          report(`{${name}} appears twice`);
          ok = false;
        }
        variables.push(name);
      } else if (segment === '') {
        report(`segment ${i + 1} is empty ("//" or a trailing "/")`);
        ok = false;
      } else if (!PATH_LITERAL.test(segment)) {
        report(
          `segment ${i + 1} "${segment}" must be a whole {name} variable or literal text (letters, digits, -._~!$&'()+,;=:@)`,
        );
        ok = false;
      }
    });
  return ok ? variables : undefined;
}

/** A Map (or a List of Maps) cannot come from text. Unparseable types are reported by `type` itself. */
function textSourceRejects(type: string): boolean {
  let shape: JavaTypeShape;
  try {
    shape = parseJavaTypeShape(type);
  } catch {
    return false;
  }
  const element = shape.name === '[]' || shape.args.length === 1 ? (shape.args[0] ?? shape) : shape;
  return MAP_TYPES.has(shape.name) || MAP_TYPES.has(element.name);
}
