export type { RouteMatchResult } from './candidate.ts';
export { type CompiledEvent, routerChannels } from './channels.ts';
export { RouteCompileError } from './errors.ts';
export { compileRoutes, type MatchInput, type RouteTable } from './route-table.ts';
