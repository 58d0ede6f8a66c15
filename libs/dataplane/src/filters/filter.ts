import type { RouteFilter } from '@portico/config';
import type { Phases } from '../pipeline/phases.ts';
import type { CompileEnv } from '../snapshot/compile-env.ts';

/**
 * A Route filter: compiled once per snapshot, for one rule, into the phases it acts in. Registered in
 * filters/index.ts by its Gateway API `type`.
 */
export interface FilterModule<T extends RouteFilter['type'] = RouteFilter['type']> {
  readonly type: T;
  compile(filter: Extract<RouteFilter, { type: T }>, env: CompileEnv): Phases;
}
