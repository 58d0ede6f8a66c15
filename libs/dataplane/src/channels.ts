import { defineChannel } from '@portico/observability';

/** A new snapshot is live. */
export interface ConfigAppliedEvent {
  revision: number;
  /** Route rules in the snapshot's table. */
  rules: number;
  durationMs: number;
  /** Certificates left out of the snapshot (the rest serve). */
  certificateErrors: readonly { name: string; message: string }[];
}

/** A config state failed to compile; the running snapshot stays. */
export interface ConfigRejectedEvent {
  revision: number;
  error: unknown;
}

/** The data plane's diagnostics events; the diagnostics wiring subscribes through these descriptors. */
export const proxyChannels = {
  configApplied: defineChannel<ConfigAppliedEvent>('portico:proxy:config-applied'),
  configRejected: defineChannel<ConfigRejectedEvent>('portico:proxy:config-rejected'),
};
