/** The default kind: a Service resource or a discovered service, served by its UpstreamCluster. */
import type { BackendKindModule } from '../kind.ts';

export const serviceKind: BackendKindModule = {
  kind: 'Service',
  compile(ref, env) {
    const cluster = env.cluster(ref);
    if (cluster === undefined) return undefined;
    const loadBalancer =
      ref.registry === undefined ? env.state.get('Service').get(ref.name)?.spec.loadBalancer : undefined;
    return { handler: cluster, loadBalancer };
  },
};
