import type { BackendRef, ServiceSpec } from '@portico/config';
import type { CallHandle, ClusterRequest, ResponseSink } from '@portico/upstream';
import type { ExchangeView } from '../pipeline/phases.ts';
import type { CompileEnv } from '../snapshot/compile-env.ts';

/**
 * Where a backendRef's requests go. An UpstreamCluster is one as it is (the Service kind); a handler of another
 * kind (an in-process answer, a transcoder, a model router) gets the exchange too, for what the request head
 * does not carry (the route, the client).
 */
export interface BackendHandler {
  dispatch(req: ClusterRequest, sink: ResponseSink, ex: ExchangeView): CallHandle;
}

export interface BackendTarget {
  handler: BackendHandler;
  /** The Service's balancing, for the hash key of consistent-hash balancing. */
  loadBalancer?: ServiceSpec['loadBalancer'] | undefined;
}

/**
 * A backend kind (a backendRef's `kind`): compiles a ref once per snapshot into its handler, or undefined when the
 * ref names nothing that exists (a 500, as Gateway API asks). Registered in backends/index.ts.
 */
export interface BackendKindModule {
  readonly kind: NonNullable<BackendRef['kind']>;
  compile(ref: BackendRef, env: CompileEnv): BackendTarget | undefined;
}
