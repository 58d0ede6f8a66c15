import { defineChannel } from '@portico/observability';

/** Outlier detection took an endpoint out of rotation for `ejectionMs`. */
export interface EjectedEvent {
  /** The cluster's Service name. */
  backend: string;
  endpoint: string;
  reason: '5xx' | 'connect';
  /** Failures in a row that tripped it. */
  consecutive: number;
  ejectionMs: number;
  /** Times this endpoint has been ejected so far. */
  ejections: number;
}

/** An ejection ended: the endpoint takes traffic again (unless its health check says otherwise). */
export interface UnejectEvent {
  backend: string;
  endpoint: string;
}

/** Active health checks changed an endpoint's verdict. */
export interface HealthEvent {
  backend: string;
  endpoint: string;
  healthy: boolean;
  /** The check's response status; absent when the check got no response. */
  status: number | undefined;
  /** Why the check got no response. */
  error: unknown;
}

/** A connection to an endpoint could not be made. */
export interface ConnectErrorEvent {
  backend: string;
  endpoint: string;
  error: unknown;
}

/** Every endpoint is unhealthy or ejected, so all of them take traffic (`panic: true`), or that ended. */
export interface PanicEvent {
  backend: string;
  /** The cluster instance: one Service can have several clusters (one per port a route asks for). */
  cluster: number;
  panic: boolean;
}

/** How many endpoints a cluster has in each state; each endpoint counts once, ejected before unhealthy. */
export interface EndpointCounts {
  /** Passing health checks (or none configured) and not ejected. */
  healthy: number;
  /** Failing active health checks. */
  unhealthy: number;
  /** Taken out by outlier detection. */
  ejected: number;
}

/** A cluster's endpoint counts changed; published once more with `closed: true` when the cluster closes. */
export interface EndpointsEvent {
  backend: string;
  /** The cluster instance: one Service can have several clusters (one per port a route asks for). */
  cluster: number;
  endpoints: EndpointCounts;
  closed: boolean;
}

/** The upstream lib's diagnostics events; the diagnostics wiring subscribes through these descriptors. */
export const upstreamChannels = {
  ejected: defineChannel<EjectedEvent>('portico:upstream:ejected'),
  uneject: defineChannel<UnejectEvent>('portico:upstream:uneject'),
  health: defineChannel<HealthEvent>('portico:upstream:health'),
  connectError: defineChannel<ConnectErrorEvent>('portico:upstream:connect-error'),
  panic: defineChannel<PanicEvent>('portico:upstream:panic'),
  endpoints: defineChannel<EndpointsEvent>('portico:upstream:endpoints'),
};
