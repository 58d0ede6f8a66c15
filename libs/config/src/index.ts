export { CertificateSpec } from './certificate.ts';
export { Duration, durationMs, Hostname, ResourceName } from './common.ts';
export { DirectResponseSpec } from './direct-response.ts';
export { type ParsedDocuments, parseDocuments } from './documents.ts';
export {
  type DiscoveredEndpoint,
  EndpointSetSpec,
  endpointSetName,
} from './endpoint-set.ts';
export { ConfigInvalidError, ConfigParseError, formatDetail } from './errors.ts';
export { configJsonSchema } from './json-schema.ts';
export { EndpointProtocol, RegistrySpec, type RegistryType } from './registry.ts';
export {
  API_VERSION,
  type Certificate,
  type DirectResponse,
  type EndpointSet,
  isKind,
  KINDS,
  type Kind,
  kindFromName,
  kindPlural,
  type Metadata,
  type Registry,
  type Resource,
  type ResourceOf,
  type Route,
  type RpcMapping,
  resourceSchemas,
  type Service,
  specSchemas,
} from './resource.ts';
export {
  BackendKind,
  type BackendRef,
  DEFAULT_UPGRADES,
  type HeaderModifier,
  type PathModifier,
  PROXY_OWNED_REQUEST_HEADERS,
  RouteFilter,
  type RouteMatch,
  type RouteRetry,
  type RouteRule,
  RouteSpec,
} from './route.ts';
export {
  JavaTypeName,
  RPC_MAPPING_MAX_METHODS,
  RpcAttachment,
  RpcHttpBinding,
  RpcMappingSpec,
  RpcMethodMapping,
  RpcParam,
  RpcParamSource,
} from './rpc-mapping.ts';
export {
  type Endpoint,
  GrpcTranscoding,
  type HealthCheck,
  type OutlierDetection,
  ServiceSpec,
} from './service.ts';
export {
  candidateServiceNames,
  dubboServiceName,
  eurekaServiceName,
  NACOS_DEFAULT_GROUP,
  NACOS_DEFAULT_NAMESPACE,
  nacosServiceName,
  type ServiceRef,
} from './service-names.ts';
export { formatPath, type ValidationResult, validateResource } from './validate.ts';
