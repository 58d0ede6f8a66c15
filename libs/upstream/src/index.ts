export {
  type Balanced,
  type Balancer,
  type BalancerType,
  balancers,
  ConsistentHashBalancer,
  LeastRequestBalancer,
  RoundRobinBalancer,
} from './balancer/index.ts';
export {
  type ConnectErrorEvent,
  type EjectedEvent,
  type EndpointCounts,
  type EndpointsEvent,
  type HealthEvent,
  type PanicEvent,
  type UnejectEvent,
  upstreamChannels,
} from './channels.ts';
export { CLUSTER_DEFAULTS, UpstreamCluster, type UpstreamClusterOptions } from './cluster.ts';
export {
  UpstreamAbortedError,
  UpstreamAllFailedError,
  UpstreamClientBodyError,
  UpstreamClientLimitError,
  UpstreamClosedError,
  UpstreamConnectError,
  UpstreamError,
  type UpstreamErrorWhere,
  UpstreamNoEndpointsError,
  UpstreamOptionError,
  UpstreamRequestError,
  UpstreamResetError,
  UpstreamTimeoutError,
} from './errors.ts';
export { hashKeyFor } from './hash-key.ts';
export { backoffDelay, DEFAULT_RETRY_CODES, isIdempotent, retryPolicyFrom } from './retry-policy.ts';
export type {
  CallHandle,
  ClusterRequest,
  ClusterStats,
  EndpointState,
  Headers,
  ResponseSink,
  RetryPolicy,
} from './types.ts';
