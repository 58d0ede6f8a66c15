import { defineChannel } from '@portico/observability';

/** A transcoder read its method descriptors (server reflection or a descriptor set), or failed to. */
export interface DescriptorsEvent {
  /** The backend's Service (or discovered service) name. */
  backend: string;
  source: 'reflection' | 'descriptorSet';
  /** The endpoint asked, for reflection. */
  endpoint?: string | undefined;
  /** Callable services, when it worked. */
  services?: string[] | undefined;
  /** Bindings left out (bad google.api.http options), each naming its method. */
  invalid?: string[] | undefined;
  /** Why it failed; the descriptors read before (if any) stay in use. */
  error?: unknown;
}

export const grpcTranscodeChannels = {
  descriptors: defineChannel<DescriptorsEvent>('portico:grpc-transcode:descriptors'),
};
