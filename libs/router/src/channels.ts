import { defineChannel } from '@portico/observability';

/** A route table was compiled (after each successful compileRoutes()). */
export interface CompiledEvent {
  routes: number;
  rules: number;
  /** (route, rule, match, host group) entries in the index. */
  candidates: number;
  hostGroups: number;
  durationMs: number;
}

/** The router's diagnostics events; the diagnostics wiring subscribes through these descriptors. */
export const routerChannels = {
  compiled: defineChannel<CompiledEvent>('portico:router:compiled'),
};
