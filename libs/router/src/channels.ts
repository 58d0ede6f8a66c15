/** Published after each successful compileRoutes(): `{ routes, rules, candidates, hostGroups, durationMs }`. */
export const CHANNEL_COMPILED = 'portico:router:compiled';

export interface CompiledEvent {
  routes: number;
  rules: number;
  /** (route, rule, match, host group) entries in the index. */
  candidates: number;
  hostGroups: number;
  durationMs: number;
}
