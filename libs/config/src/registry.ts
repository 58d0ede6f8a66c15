/**
 * Registry: a service registry the discovery syncer watches (Nacos, ZooKeeper, Consul, Eureka, DNS) or a static
 * list. Each type keeps only the fields that mean something to it, so a typo is an error with its path.
 */
import { z } from 'zod';
import { Duration, PortNumber } from './common.ts';
import { Endpoint } from './service.ts';

/** What a discovered endpoint speaks; `tri` is Dubbo 3's triple protocol (gRPC-compatible, HTTP/1 and HTTP/2). */
export const EndpointProtocol = z.enum(['http', 'http2', 'grpc', 'dubbo', 'tri']);

/** `host:port` (IPv6 in brackets). */
const HostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, 'must be host:port, e.g. "127.0.0.1:2181"');
const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const Common = {
  /** Only these service names (as the registry knows them); all when absent. */
  services: z.array(z.string().min(1).max(512)).max(10_000).optional(),
  /** Full re-list period: finds services a watch cannot report (new names, deletions made while away). */
  refreshInterval: Duration.default('30s'),
};

const UserPassword = z.strictObject({ username: z.string().min(1), password: z.string() });

export const NacosRegistry = z.strictObject({
  type: z.literal('nacos'),
  addresses: z.array(HostPort).min(1).max(16),
  /** Namespace id; `public` when absent. */
  namespace: z.string().min(1).max(128).optional(),
  /** Groups to list; DEFAULT_GROUP when absent. */
  groups: z.array(z.string().min(1).max(128)).min(1).max(64).optional(),
  credentials: z
    .union([UserPassword, z.strictObject({ accessKey: z.string().min(1), secretKey: z.string().min(1) })])
    .optional(),
  ...Common,
});

export const ZooKeeperRegistry = z.strictObject({
  type: z.literal('zookeeper'),
  addresses: z.array(HostPort).min(1).max(16),
  /** Digest auth, `user:password`. */
  credentials: z.strictObject({ digest: z.string().regex(/^[^:]+:.*$/, 'must be "user:password"') }).optional(),
  /** Dubbo interface-level registrations live under `<dubboRoot>/<interface>/providers`. */
  dubboRoot: z.string().startsWith('/').default('/dubbo'),
  /** Spring Cloud Zookeeper and Dubbo 3 application-level instances live under `<servicesRoot>/<name>/<id>`. */
  servicesRoot: z.string().startsWith('/').default('/services'),
  sessionTimeout: Duration.default('15s'),
  ...Common,
});

export const ConsulRegistry = z.strictObject({
  type: z.literal('consul'),
  addresses: z
    .array(z.union([HostPort, HttpUrl]))
    .min(1)
    .max(16),
  datacenter: z.string().min(1).max(128).optional(),
  /** A service is taken only if it carries every one of these tags. */
  tags: z.array(z.string().min(1).max(256)).max(32).optional(),
  credentials: z.strictObject({ token: z.string().min(1) }).optional(),
  /** Blocking query wait, Consul's `wait` (at most 10m). */
  wait: Duration.default('30s'),
  ...Common,
});

export const EurekaRegistry = z.strictObject({
  type: z.literal('eureka'),
  /** Service URLs, e.g. `http://127.0.0.1:8761/eureka`. */
  addresses: z.array(HttpUrl).min(1).max(16),
  credentials: UserPassword.optional(),
  /** Delta fetch period (Eureka clients default to 30 s; Portico to 5 s). */
  deltaInterval: Duration.default('5s'),
  ...Common,
});

export const DnsName = z.strictObject({
  /** The service name routes use; the DNS name when absent. */
  name: z.string().min(1).max(253).optional(),
  /** The DNS name to resolve. For SRV, `_service._proto.domain`. */
  host: z.string().min(1).max(253),
  type: z.enum(['A', 'AAAA', 'SRV']).default('A'),
  /** Required for A/AAAA (SRV records carry their own). */
  port: PortNumber.optional(),
  protocol: EndpointProtocol.default('http'),
});

export const DnsRegistry = z.strictObject({
  type: z.literal('dns'),
  /** Resolvers as `host:port`; the system's when absent. */
  addresses: z.array(HostPort).max(8).optional(),
  names: z.array(DnsName).min(1).max(1_000),
  /** Floor and ceiling on record TTLs between lookups. */
  minTtl: Duration.default('1s'),
  maxTtl: Duration.default('5m'),
});

export const StaticRegistry = z.strictObject({
  type: z.literal('static'),
  static: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(512),
        protocol: EndpointProtocol.default('http'),
        endpoints: z.array(Endpoint).max(10_000),
      }),
    )
    .max(10_000),
});

export const RegistrySpec = z
  .discriminatedUnion('type', [
    NacosRegistry,
    ZooKeeperRegistry,
    ConsulRegistry,
    EurekaRegistry,
    DnsRegistry,
    StaticRegistry,
  ])
  .superRefine((spec, ctx) => {
    if (spec.type !== 'dns') return;
    spec.names.forEach((n, i) => {
      if (n.type !== 'SRV' && n.port === undefined)
        ctx.addIssue({ code: 'custom', path: ['names', i, 'port'], message: `required for type ${n.type}` });
    });
  });

export type RegistrySpec = z.infer<typeof RegistrySpec>;
export type RegistryType = RegistrySpec['type'];
export type EndpointProtocol = z.infer<typeof EndpointProtocol>;
