/** What a balancer needs to know about an endpoint. */
export interface Balanced {
  readonly key: string;
  readonly weight: number;
  readonly active: number;
}

/**
 * Picks one endpoint. `available` is non-empty, holds only weight > 0 endpoints that may take traffic,
 * and is a new array whenever that set changes (so balancers cache per array identity).
 * `exclude` holds endpoints already tried by this request: avoid them when anything else is available.
 */
export interface Balancer<T extends Balanced> {
  pick(available: readonly T[], hashKey: string | undefined, exclude: ReadonlySet<T> | undefined): T;
  /** The full endpoint set (weight > 0) changed. */
  rebuild(all: readonly T[]): void;
}

export function allWeightsEqual(list: readonly Balanced[]): boolean {
  const w = list[0]?.weight;
  for (let i = 1; i < list.length; i++) if (list[i]!.weight !== w) return false;
  return true;
}

/** `available` minus `exclude`, or `available` when that would leave nothing. */
export function withoutExcluded<T>(available: readonly T[], exclude: ReadonlySet<T> | undefined): readonly T[] {
  if (exclude === undefined || exclude.size === 0) return available;
  const rest = available.filter((e) => !exclude.has(e));
  return rest.length > 0 ? rest : available;
}
