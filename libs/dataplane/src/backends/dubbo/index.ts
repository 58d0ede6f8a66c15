/**
 * Dubbo (`backendRefs: [{kind: Dubbo, name: com.example.OrderService, registry: zk, version: 1.0.0}]`): HTTP/JSON
 * to the methods of a Dubbo interface, as generic calls on the `dubbo` endpoints of the discovered service (or of
 * a Service whose `discovery` names it). `POST /dubbo/<interface>/<method>` with a JSON array of arguments. The
 * transcoder, with its connections, lives beside the cluster of those endpoints. RpcMappings of the interface
 * add REST routes (`GET /orders/{id}` -> `getOrder(long)`), tried first.
 */
import type { ConfigState } from '@portico/bus';
import { compileRpcMapping, DubboTranscoder, PublishedSignatures, type RpcRoutes } from '@portico/dubbo';
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
    const discovered =
      ref.registry !== undefined
        ? { registry: ref.registry, name: ref.name, version: ref.version, group: ref.group }
        : discovery;
    if (discovered === undefined) return undefined;
    const target = { interface: discovered.name, version: discovered.version, group: discovered.group };
    const cluster = env.cluster(ref, 'dubbo');
    if (cluster === undefined) return undefined;
    const signatures = env.attachment(cluster, 'dubbo-signatures', () => new PublishedSignatures());
    // The method signatures the discovery syncer published beside the endpoints (the provider's metadata report).
    signatures.update(env.endpointSet(discovered)?.spec.serviceDefinition);
    const transcoder = env.attachment(
      cluster,
      'dubbo',
      () =>
        new DubboTranscoder(cluster.name, cluster, {
          ...target,
          timeoutMs: DEFAULT_TIMEOUT_MS,
          maxBodyBytes: MAX_BODY_BYTES,
          signatures,
        }),
    );
    transcoder.mapping = mappingFor(env.state, target);
    return { handler: transcoder };
  },
};

/**
 * The REST routes of the RpcMappings for this interface (one version and group, or any when a mapping names
 * none), merged; undefined when there are none.
 */
function mappingFor(
  state: ConfigState,
  target: { interface: string; version?: string | undefined; group?: string | undefined },
): RpcRoutes | undefined {
  const methods = [];
  for (const m of state.get('RpcMapping').values()) {
    const s = m.spec;
    if (s.interface !== target.interface) continue;
    if (s.version !== undefined && s.version !== target.version) continue;
    if (s.group !== undefined && s.group !== target.group) continue;
    methods.push(...s.methods);
  }
  if (methods.length === 0) return undefined;
  return compileRpcMapping({ ...target, methods });
}
