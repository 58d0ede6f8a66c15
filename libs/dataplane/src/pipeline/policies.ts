/**
 * Policies (authentication, rate limits, LLM token budgets) run in the same phases as Route filters, in a fixed
 * order: gateway-level first, then route-level, then the rule's filters in the order they are listed; after the
 * backend is picked, that backend's policies. Within a level, by category in POLICY_ORDER. Every phase (request,
 * forward, response) runs in that same order.
 */
import type { ConfigState } from '@portico/bus';
import type { CompileEnv } from '../snapshot/compile-env.ts';
import type { Phases } from './phases.ts';

export const POLICY_ORDER = ['ip', 'authn', 'authz', 'rate-limit', 'token-budget'] as const;
export type PolicyCategory = (typeof POLICY_ORDER)[number];

/** One policy, compiled for one attachment point. */
export interface AttachedPolicy {
  readonly category: PolicyCategory;
  readonly phases: Phases;
}

/** The policies of one snapshot by attachment point (Gateway API policy attachment: targetRefs). */
export interface PolicyAttachments {
  gateway(): readonly AttachedPolicy[];
  route(name: string): readonly AttachedPolicy[];
  backend(kind: string, name: string): readonly AttachedPolicy[];
}

/** Compiles a snapshot's policies from its config state. */
export type PolicySource = (state: ConfigState, env: CompileEnv) => PolicyAttachments;

const NONE: readonly AttachedPolicy[] = Object.freeze([]);

export const NO_POLICIES: PolicyAttachments = { gateway: () => NONE, route: () => NONE, backend: () => NONE };

const NO_PHASES_LIST: readonly Phases[] = Object.freeze([]);

/** A level's policies as phases, in category order (stable: same category keeps its given order). */
export function orderedPhases(policies: readonly AttachedPolicy[]): readonly Phases[] {
  if (policies.length === 0) return NO_PHASES_LIST;
  return [...policies]
    .sort((a, b) => POLICY_ORDER.indexOf(a.category) - POLICY_ORDER.indexOf(b.category))
    .map((p) => p.phases);
}
