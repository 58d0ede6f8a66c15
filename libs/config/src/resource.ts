import { z } from 'zod';
import { CertificateSpec } from './certificate.ts';
import { ResourceName } from './common.ts';
import { DirectResponseSpec } from './direct-response.ts';
import { EndpointSetSpec } from './endpoint-set.ts';
import { RegistrySpec } from './registry.ts';
import { RouteSpec } from './route.ts';
import { RpcMappingSpec } from './rpc-mapping.ts';
import { ServiceSpec } from './service.ts';

export const API_VERSION = 'portico.dev/v1';

/** Every kind and its spec schema. New kinds register here, and only here. */
export const specSchemas = {
  Route: RouteSpec,
  Service: ServiceSpec,
  Certificate: CertificateSpec,
  Registry: RegistrySpec,
  EndpointSet: EndpointSetSpec,
  DirectResponse: DirectResponseSpec,
  RpcMapping: RpcMappingSpec,
} as const;

export type Kind = keyof typeof specSchemas;
export const KINDS = Object.keys(specSchemas) as Kind[];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(specSchemas, value);
}

/** Short names people type for a kind. */
const ALIASES: Record<string, Kind> = { endpoints: 'EndpointSet', registries: 'Registry' };

/** `routes`, `route` or `Route` -> `Route` (what the CLI and the admin API accept). */
export function kindFromName(name: string): Kind | undefined {
  const lower = name.toLowerCase();
  if (Object.hasOwn(ALIASES, lower)) return ALIASES[lower];
  return KINDS.find((k) => {
    const kl = k.toLowerCase();
    return lower === kl || lower === `${kl}s` || lower === `${kl}es`;
  });
}

/** The plural path segment for a kind: Route -> routes. */
export function kindPlural(kind: Kind): string {
  return kind === 'Registry' ? 'registries' : `${kind.toLowerCase()}s`;
}

export const Metadata = z.strictObject({
  name: ResourceName,
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  /** Set by the bus on first write, kept on update; breaks precedence ties between routes (Gateway API). */
  creationTimestamp: z.iso.datetime().optional(),
  /** Set by the bus: the store revision this value was read at. */
  resourceVersion: z.string().optional(),
});

function envelope<K extends Kind>(kind: K) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: Metadata,
    spec: specSchemas[kind] as (typeof specSchemas)[K],
  });
}

export const RouteResource = envelope('Route');
export const ServiceResource = envelope('Service');
export const CertificateResource = envelope('Certificate');
export const RegistryResource = envelope('Registry');
export const EndpointSetResource = envelope('EndpointSet');
export const DirectResponseResource = envelope('DirectResponse');
export const RpcMappingResource = envelope('RpcMapping');

export const resourceSchemas = {
  Route: RouteResource,
  Service: ServiceResource,
  Certificate: CertificateResource,
  Registry: RegistryResource,
  EndpointSet: EndpointSetResource,
  DirectResponse: DirectResponseResource,
  RpcMapping: RpcMappingResource,
} as const satisfies Record<Kind, z.ZodType>;

export type Route = z.infer<typeof RouteResource>;
export type Service = z.infer<typeof ServiceResource>;
export type Certificate = z.infer<typeof CertificateResource>;
export type DirectResponse = z.infer<typeof DirectResponseResource>;
export type Registry = z.infer<typeof RegistryResource>;
export type EndpointSet = z.infer<typeof EndpointSetResource>;
export type RpcMapping = z.infer<typeof RpcMappingResource>;
export type ResourceOf<K extends Kind> = z.infer<(typeof resourceSchemas)[K]>;
export type Resource = { [K in Kind]: ResourceOf<K> }[Kind];
export type Metadata = z.infer<typeof Metadata>;
