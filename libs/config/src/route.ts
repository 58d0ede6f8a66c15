/**
 * Route: the Kubernetes Gateway API HTTPRoute spec (v1), minus parentRefs (Portico has one gateway).
 * Field names and defaults follow the Gateway API so people who know it know this.
 */
import { z } from 'zod';
import { Duration, HeaderName, Hostname, PortNumber, ResourceName } from './common.ts';

export const HttpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export const PathMatch = z.strictObject({
  type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).default('PathPrefix'),
  value: z.string().min(1).max(1024).default('/'),
});

export const HeaderMatch = z.strictObject({
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
  name: HeaderName,
  value: z.string().max(4096),
});

export const QueryParamMatch = z.strictObject({
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
  name: z.string().min(1).max(256),
  value: z.string().max(1024),
});

export const RouteMatch = z.strictObject({
  path: PathMatch.optional(),
  headers: z.array(HeaderMatch).max(16).optional(),
  queryParams: z.array(QueryParamMatch).max(16).optional(),
  method: HttpMethod.optional(),
});

const HeaderValue = z.strictObject({ name: HeaderName, value: z.string().max(4096) });

export const HeaderModifier = z.strictObject({
  set: z.array(HeaderValue).max(16).optional(),
  add: z.array(HeaderValue).max(16).optional(),
  remove: z.array(HeaderName).max(16).optional(),
});

/**
 * Request header names the proxy itself owns: the forwarding fields it writes for the backend (Via, Forwarded,
 * X-Forwarded-*, X-Real-IP) and the fields that frame or switch the connection. A RequestHeaderModifier may not
 * set, add or remove them: a backend (and Portico's own admin API, which refuses requests whose Via names
 * portico) must be able to rely on them.
 */
export const PROXY_OWNED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'http2-settings',
  'expect',
]);

const RequestHeaderModifier = HeaderModifier.superRefine((mod, ctx) => {
  const owned = (name: string, path: (string | number)[]) => {
    if (PROXY_OWNED_REQUEST_HEADERS.has(name.toLowerCase()))
      ctx.addIssue({
        code: 'custom',
        path,
        message: `"${name}" is written by the proxy itself and cannot be changed by a filter`,
      });
  };
  for (const key of ['set', 'add'] as const)
    for (const [i, h] of (mod[key] ?? []).entries()) owned(h.name, [key, i, 'name']);
  for (const [i, name] of (mod.remove ?? []).entries()) owned(name, ['remove', i]);
});

export const PathModifier = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ReplaceFullPath'), replaceFullPath: z.string().startsWith('/').max(1024) }),
  z.strictObject({ type: z.literal('ReplacePrefixMatch'), replacePrefixMatch: z.string().startsWith('/').max(1024) }),
]);

/**
 * What a backendRef points at (Gateway API `kind`; default `Service`). `Echo` is the proxy's built-in echo: it
 * answers 200 with the request head the proxy would send upstream (for demos and debugging), no Service needed.
 * `DirectResponse` answers with the DirectResponse resource of that name. `Grpc` transcodes HTTP/JSON to the gRPC
 * methods of a Service (or discovered service) whose endpoints speak gRPC; `Dubbo` to the methods of a Dubbo
 * interface (`name` with `registry`, or a Service whose `discovery` names one), on its `dubbo` endpoints.
 */
export const BackendKind = z.enum(['Service', 'Echo', 'DirectResponse', 'Grpc', 'Dubbo']);

/** Kinds answered inside the proxy: a name, no registry or port. */
const IN_PROCESS_KINDS: ReadonlySet<string> = new Set(['Echo', 'DirectResponse']);

const BackendRefFields = z.strictObject({
  /** Default `Service`. */
  kind: BackendKind.optional(),
  /** A Service resource or, with `registry`, a service as that registry names it; with kind Echo a label, with kind DirectResponse a DirectResponse resource. */
  name: z.string().min(1).max(1024),
  /** A Registry resource: `name` is then a discovered service (README: "Discovered service names"). */
  registry: ResourceName.optional(),
  /** Dubbo interface version (with `registry`). */
  version: z.string().min(1).max(128).optional(),
  /** Dubbo interface group or Nacos group (with `registry`). */
  group: z.string().min(1).max(128).optional(),
  port: PortNumber.optional(),
  weight: z.number().int().min(0).max(1_000_000).default(1),
});

function checkBackendRef(
  ref: { kind?: string; name: string; registry?: string; version?: string; group?: string; port?: number },
  ctx: z.RefinementCtx,
) {
  if (ref.kind !== undefined && IN_PROCESS_KINDS.has(ref.kind)) {
    for (const key of ['registry', 'version', 'group', 'port'] as const)
      if (ref[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `not with kind ${ref.kind}` });
    return;
  }
  if (ref.registry !== undefined) return;
  for (const key of ['version', 'group'] as const)
    if (ref[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only with registry' });
  if (ref.name.length > 253) ctx.addIssue({ code: 'custom', path: ['name'], message: 'at most 253 characters' });
}

export const BackendRef = BackendRefFields.superRefine(checkBackendRef);

export const RouteFilter = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('RequestHeaderModifier'), requestHeaderModifier: RequestHeaderModifier }),
  z.strictObject({ type: z.literal('ResponseHeaderModifier'), responseHeaderModifier: HeaderModifier }),
  z.strictObject({
    type: z.literal('RequestRedirect'),
    requestRedirect: z.strictObject({
      scheme: z.enum(['http', 'https']).optional(),
      hostname: z.string().min(1).max(253).optional(),
      path: PathModifier.optional(),
      port: PortNumber.optional(),
      statusCode: z
        .union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)])
        .default(302),
    }),
  }),
  z.strictObject({
    type: z.literal('URLRewrite'),
    urlRewrite: z.strictObject({ hostname: z.string().min(1).max(253).optional(), path: PathModifier.optional() }),
  }),
  z.strictObject({
    type: z.literal('RequestMirror'),
    requestMirror: z.strictObject({
      // A mirror copies traffic to a Service: the built-in Echo would only throw the copy away.
      backendRef: BackendRefFields.omit({ weight: true, kind: true }).superRefine(checkBackendRef),
      /** Share of requests mirrored, 0-100 (Gateway API `percent`). */
      percent: z.number().int().min(0).max(100).default(100),
    }),
  }),
  z.strictObject({
    type: z.literal('CORS'),
    cors: z.strictObject({
      allowOrigins: z.array(z.string().min(1)).max(64).optional(),
      allowMethods: z.array(z.union([HttpMethod, z.literal('*')])).optional(),
      allowHeaders: z
        .array(z.union([HeaderName, z.literal('*')]))
        .max(64)
        .optional(),
      exposeHeaders: z
        .array(z.union([HeaderName, z.literal('*')]))
        .max(64)
        .optional(),
      allowCredentials: z.boolean().optional(),
      maxAge: z.number().int().min(1).default(5),
    }),
  }),
]);

export const RouteTimeouts = z.strictObject({
  /** Whole request, from the first byte received to the last byte of the response head. */
  request: Duration.optional(),
  /** One attempt to a backend. */
  backendRequest: Duration.optional(),
});

export const RouteRetry = z.strictObject({
  /** Status codes that trigger a retry (Gateway API). Connect failures always may. */
  codes: z.array(z.number().int().min(400).max(599)).optional(),
  /** Retries after the first attempt. */
  attempts: z.number().int().min(0).max(10).default(1),
  backoff: Duration.optional(),
  /** Portico: retry non-idempotent methods too (default: only GET, HEAD, OPTIONS, PUT, DELETE, TRACE). */
  nonIdempotent: z.boolean().default(false),
  /** Portico: active retries may be at most this percent of active requests (Envoy-style retry budget). */
  budgetPercent: z.number().min(0).max(100).default(20),
  /** Portico: retries always allowed up to this many at once, whatever the budget. */
  minRetryConcurrency: z.number().int().min(0).default(3),
});

/** Upgrade protocols a rule tunnels when `upgrades` is not given. */
export const DEFAULT_UPGRADES: readonly string[] = ['websocket'];

/** An Upgrade protocol name (RFC 9110 §7.8), compared case-insensitively; h2c is never tunnelled. */
const UpgradeProtocol = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, 'must be an Upgrade protocol name (RFC 9110 token)')
  .refine((v) => v.toLowerCase() !== 'h2c', 'h2c is never tunnelled: clients speak HTTP/2 to the proxy directly');

export const RouteRule = z
  .strictObject({
    name: ResourceName.optional(),
    matches: z.array(RouteMatch).max(64).optional(),
    filters: z.array(RouteFilter).max(16).optional(),
    backendRefs: z.array(BackendRef).max(16).optional(),
    timeouts: RouteTimeouts.optional(),
    retry: RouteRetry.optional(),
    /**
     * Portico: Upgrade protocols this rule tunnels to its backend (default `[websocket]`, `[]` refuses every
     * Upgrade). Others are refused with a 400 before any backend sees them.
     */
    upgrades: z.array(UpgradeProtocol).max(8).optional(),
  })
  .superRefine((rule, ctx) => {
    const types = (rule.filters ?? []).map((f) => f.type);
    if (types.includes('RequestRedirect') && types.includes('URLRewrite'))
      ctx.addIssue({ code: 'custom', path: ['filters'], message: 'RequestRedirect and URLRewrite cannot be combined' });
    if (types.includes('RequestRedirect') && (rule.backendRefs?.length ?? 0) > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['backendRefs'],
        message: 'a rule with RequestRedirect has no backendRefs',
      });
    for (const t of ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'CORS']) {
      if (types.filter((x) => x === t).length > 1)
        ctx.addIssue({ code: 'custom', path: ['filters'], message: `${t} may appear at most once per rule` });
    }
    const usesPrefixRewrite = (rule.filters ?? []).some(
      (f) =>
        (f.type === 'URLRewrite' && f.urlRewrite.path?.type === 'ReplacePrefixMatch') ||
        (f.type === 'RequestRedirect' && f.requestRedirect.path?.type === 'ReplacePrefixMatch'),
    );
    if (usesPrefixRewrite) {
      (rule.matches ?? []).forEach((m, i) => {
        if (m.path && m.path.type !== 'PathPrefix')
          ctx.addIssue({
            code: 'custom',
            path: ['matches', i, 'path', 'type'],
            message: 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match',
          });
      });
    }
    (rule.matches ?? []).forEach((m, i) => {
      if (m.path?.type === 'RegularExpression') {
        try {
          new RegExp(m.path.value);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            path: ['matches', i, 'path', 'value'],
            message: `invalid regular expression: ${(err as Error).message}`,
          });
        }
      } else if (m.path && !m.path.value.startsWith('/')) {
        ctx.addIssue({ code: 'custom', path: ['matches', i, 'path', 'value'], message: 'must start with "/"' });
      }
      for (const [key, list] of [
        ['headers', m.headers],
        ['queryParams', m.queryParams],
      ] as const) {
        (list ?? []).forEach((h, j) => {
          if (h.type !== 'RegularExpression') return;
          try {
            new RegExp(h.value);
          } catch (err) {
            ctx.addIssue({
              code: 'custom',
              path: ['matches', i, key, j, 'value'],
              message: `invalid regular expression: ${(err as Error).message}`,
            });
          }
        });
      }
    });
  });

export const RouteSpec = z.strictObject({
  hostnames: z.array(Hostname).max(16).optional(),
  rules: z.array(RouteRule).min(1).max(64),
});

export type RouteSpec = z.infer<typeof RouteSpec>;
export type RouteRule = z.infer<typeof RouteRule>;
export type RouteMatch = z.infer<typeof RouteMatch>;
export type RouteFilter = z.infer<typeof RouteFilter>;
export type BackendRef = z.infer<typeof BackendRef>;
export type HeaderModifier = z.infer<typeof HeaderModifier>;
export type PathModifier = z.infer<typeof PathModifier>;
export type RouteRetry = z.infer<typeof RouteRetry>;
