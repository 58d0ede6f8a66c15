import type { CompiledBackend, CompiledRule } from './snapshot.ts';

/** Weighted choice between a rule's backends (Gateway API weights are proportional). */
export function pickBackend(rule: CompiledRule): CompiledBackend | undefined {
  const { backends, totalWeight } = rule;
  if (totalWeight <= 0) return undefined;
  if (backends.length === 1) return backends[0];
  let r = Math.random() * totalWeight;
  for (const b of backends) {
    r -= b.weight;
    if (r < 0) return b;
  }
  return backends[backends.length - 1];
}
