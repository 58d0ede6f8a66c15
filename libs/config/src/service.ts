/** Service: where a backendRef goes. Static endpoints now; discovered names come with the discovery syncer. */
import { z } from 'zod';
import { Duration, PortNumber, ResourceName } from './common.ts';

export const Endpoint = z.strictObject({
  /** IPv4, IPv6 or a host name resolved by the OS. */
  address: z.string().min(1).max(253),
  port: PortNumber,
  weight: z.number().int().min(0).max(10_000).default(1),
  zone: z.string().max(128).optional(),
});

export const LoadBalancer = z.strictObject({
  type: z.enum(['RoundRobin', 'LeastRequest', 'ConsistentHash']).default('RoundRobin'),
  /** ConsistentHash: what to hash. Exactly one of header, cookie, sourceIP. */
  consistentHash: z
    .strictObject({
      header: z.string().min(1).optional(),
      cookie: z.string().min(1).optional(),
      sourceIP: z.boolean().optional(),
    })
    .refine((h) => [h.header, h.cookie, h.sourceIP].filter((x) => x !== undefined && x !== false).length === 1, {
      message: 'set exactly one of header, cookie or sourceIP',
    })
    .optional(),
});

export const HealthCheck = z.strictObject({
  path: z.string().startsWith('/').default('/'),
  interval: Duration.default('5s'),
  timeout: Duration.default('1s'),
  healthyThreshold: z.number().int().min(1).default(2),
  unhealthyThreshold: z.number().int().min(1).default(3),
  /** Status codes counted as healthy; default 200-399. */
  expectedStatuses: z.array(z.number().int().min(100).max(599)).optional(),
});

export const OutlierDetection = z.strictObject({
  consecutive5xx: z.number().int().min(1).default(5),
  consecutiveConnectFailures: z.number().int().min(1).default(3),
  baseEjectionTime: Duration.default('30s'),
  maxEjectionPercent: z.number().int().min(0).max(100).default(50),
});

/** The defaults here must match the upstream lib's CLUSTER_DEFAULTS (a test there compares them). */
export const ConnectionPool = z.strictObject({
  /** Connections per endpoint. */
  connections: z.number().int().min(1).max(10_000).default(128),
  keepAliveTimeout: Duration.default('4s'),
  connectTimeout: Duration.default('5s'),
  /** From the request fully sent (head and body) to the response headers; `0s` disables. */
  responseHeadersTimeout: Duration.default('60s'),
  /** Longest silence between response body chunks (SSE and LLM streams pause); `0s` disables. */
  bodyIdleTimeout: Duration.default('120s'),
  /**
   * Requests one client (its address) may have in flight on this Service, so one client can never hold the
   * whole pool; over it the request is refused with 429. Default: half of `connections` x the number of endpoints. 0 disables.
   */
  maxRequestsPerClient: z.number().int().min(0).max(1_000_000).optional(),
});

/** How HTTP/JSON is transcoded to this Service's gRPC methods (backendRefs of kind Grpc). */
export const GrpcTranscoding = z
  .strictObject({
    /**
     * Where the method descriptors come from: the endpoints' gRPC server reflection (the default), re-read every
     * `refresh` and when the endpoints change; or a FileDescriptorSet (`protoc --include_imports
     * --descriptor_set_out`, `buf build -o x.binpb`), base64.
     */
    reflection: z.strictObject({ refresh: Duration.default('60s') }).optional(),
    descriptorSet: z
      .base64()
      .max(8 * 1024 * 1024)
      .optional(),
    /** Only these fully-qualified services (`pkg.Service`) are callable; default all but reflection and health. */
    services: z
      .array(z.string().regex(/^[A-Za-z_][\w.]*$/, 'a fully-qualified service name'))
      .max(1000)
      .optional(),
    /** Request headers passed on as gRPC metadata (lower-case names); `-bin` values are base64. */
    metadataHeaders: z
      .array(z.string().regex(/^[a-z0-9-_.]+$/, 'a lower-case header name'))
      .max(100)
      .default([]),
    /** JSON field names as in the .proto (`snake_case`) instead of lowerCamelCase. */
    preserveProtoFieldNames: z.boolean().default(false),
    /** Answer with every field, defaults included. */
    emitDefaults: z.boolean().default(false),
    /** Request JSON fields the message does not have are dropped instead of refused with 400. */
    ignoreUnknownFields: z.boolean().default(false),
  })
  .superRefine((g, ctx) => {
    if (g.reflection !== undefined && g.descriptorSet !== undefined)
      ctx.addIssue({ code: 'custom', path: ['descriptorSet'], message: 'set reflection or descriptorSet, not both' });
  });

export const ServiceSpec = z
  .strictObject({
    protocol: z.enum(['http', 'http2', 'grpc', 'dubbo']).default('http'),
    endpoints: z.array(Endpoint).max(10_000).default([]),
    /** Endpoints come from a discovered service instead (this Service then adds load balancing and health). */
    discovery: z
      .strictObject({
        registry: ResourceName,
        name: z.string().min(1).max(1024),
        version: z.string().min(1).max(128).optional(),
        group: z.string().min(1).max(128).optional(),
      })
      .optional(),
    loadBalancer: LoadBalancer.default({ type: 'RoundRobin' }),
    healthCheck: HealthCheck.optional(),
    outlierDetection: OutlierDetection.optional(),
    connectionPool: ConnectionPool.optional(),
    grpc: GrpcTranscoding.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.grpc !== undefined && s.protocol !== 'grpc')
      ctx.addIssue({ code: 'custom', path: ['grpc'], message: 'only with protocol grpc' });
    if (s.discovery !== undefined && s.endpoints.length > 0)
      ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'set endpoints or discovery, not both' });
    if (s.loadBalancer.type === 'ConsistentHash' && !s.loadBalancer.consistentHash)
      ctx.addIssue({
        code: 'custom',
        path: ['loadBalancer', 'consistentHash'],
        message: 'required when type is ConsistentHash',
      });
  });

export type ServiceSpec = z.infer<typeof ServiceSpec>;
export type Endpoint = z.infer<typeof Endpoint>;
export type HealthCheck = z.infer<typeof HealthCheck>;
export type OutlierDetection = z.infer<typeof OutlierDetection>;
export type ConnectionPool = z.infer<typeof ConnectionPool>;
export type GrpcTranscoding = z.infer<typeof GrpcTranscoding>;
