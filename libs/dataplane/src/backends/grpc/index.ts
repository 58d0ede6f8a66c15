/**
 * Grpc (`backendRefs: [{kind: Grpc, name: library}]`): HTTP/JSON transcoded to the gRPC methods of a Service (or
 * a discovered service) whose endpoints speak gRPC. The transcoder lives beside the Service's cluster, so its
 * descriptors and channels survive config changes; each snapshot hands it the Service's `grpc` settings.
 */
import { durationMs, type GrpcTranscoding } from '@portico/config';
import { GrpcTranscoder, type GrpcTranscoderOptions } from '@portico/grpc-transcode';
import type { BackendKindModule } from '../kind.ts';

const DEFAULT_REFRESH = '60s';
/** grpc-js's default largest message. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

function optionsOf(grpc: GrpcTranscoding | undefined): GrpcTranscoderOptions {
  return {
    descriptorSet: grpc?.descriptorSet === undefined ? undefined : Buffer.from(grpc.descriptorSet, 'base64'),
    reflectionRefreshMs: durationMs(grpc?.reflection?.refresh ?? DEFAULT_REFRESH),
    services: grpc?.services,
    metadataHeaders: grpc?.metadataHeaders ?? [],
    preserveProtoFieldNames: grpc?.preserveProtoFieldNames ?? false,
    emitDefaults: grpc?.emitDefaults ?? false,
    ignoreUnknownFields: grpc?.ignoreUnknownFields ?? false,
    maxMessageBytes: MAX_MESSAGE_BYTES,
  };
}

export const grpcKind: BackendKindModule = {
  kind: 'Grpc',
  compile(ref, env) {
    const cluster = env.cluster(ref);
    if (cluster === undefined) return undefined;
    const spec = ref.registry === undefined ? env.state.get('Service').get(ref.name)?.spec : undefined;
    const options = optionsOf(spec?.grpc);
    let fresh = false;
    const transcoder = env.attachment(cluster, 'grpc', () => {
      fresh = true;
      return new GrpcTranscoder(cluster.name, cluster, options);
    });
    if (!fresh) transcoder.configure(options);
    return { handler: transcoder, loadBalancer: spec?.loadBalancer };
  },
};
