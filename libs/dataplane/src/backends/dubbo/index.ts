/**
 * Dubbo (`backendRefs: [{kind: Dubbo, name: com.example.OrderService, registry: zk, version: 1.0.0}]`): HTTP/JSON
 * to the methods of a Dubbo interface, as generic calls on the `dubbo` endpoints of the discovered service (or of
 * a Service whose `discovery` names it). `POST /dubbo/<interface>/<method>` with a JSON array of arguments. The
 * transcoder, with its connections, lives beside the cluster of those endpoints.
 */
import { DubboTranscoder } from '@portico/dubbo';
import type { BackendKindModule } from '../kind.ts';

/** A call's time when the rule sets no `timeouts.backendRequest`. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Dubbo's own payload limit. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export const dubboKind: BackendKindModule = {
  kind: 'Dubbo',
  compile(ref, env) {
    const discovery = ref.registry === undefined ? env.state.get('Service').get(ref.name)?.spec.discovery : undefined;
    // The interface: the discovered name itself, or the one the Service discovers.
    const target =
      ref.registry !== undefined
        ? { interface: ref.name, version: ref.version, group: ref.group }
        : discovery === undefined
          ? undefined
          : { interface: discovery.name, version: discovery.version, group: discovery.group };
    if (target === undefined) return undefined;
    const cluster = env.cluster(ref, 'dubbo');
    if (cluster === undefined) return undefined;
    const transcoder = env.attachment(
      cluster,
      'dubbo',
      () =>
        new DubboTranscoder(cluster.name, cluster, {
          ...target,
          timeoutMs: DEFAULT_TIMEOUT_MS,
          maxBodyBytes: MAX_BODY_BYTES,
        }),
    );
    return { handler: transcoder };
  },
};
