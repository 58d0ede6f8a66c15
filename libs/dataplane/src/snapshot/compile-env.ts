import type { ConfigState } from '@portico/bus';
import type { EndpointSet, ServiceRef } from '@portico/config';
import type { UpstreamCluster } from '@portico/upstream';
import type { EndpointProtocols } from './discovered.ts';

/** A backendRef that names a Service: by name, or with `registry` a discovered service, on an optional port. */
export type ServiceBackendRef = ServiceRef & { registry?: string | undefined; port?: number | undefined };

/** What filters, policies and backend kinds compile against: one config state, one set of clusters. */
export interface CompileEnv {
  readonly state: ConfigState;
  /**
   * The cluster for a Service backendRef (static or discovered); undefined when it names nothing. A discovered
   * service's endpoints are those speaking `protocols` (default http: http, http2, grpc, tri).
   */
  cluster(ref: ServiceBackendRef, protocols?: EndpointProtocols): UpstreamCluster | undefined;
  /** The EndpointSet a discovered service's endpoints come from (what the discovery syncer published). */
  endpointSet(ref: ServiceRef & { registry: string }): EndpointSet | undefined;
  /** Long-lived state of a backend kind beside `cluster` (made once, closed with the cluster). */
  attachment<T extends object>(cluster: UpstreamCluster, key: string, make: () => T): T;
}
