import { type Balanced, type Balancer, withoutExcluded } from './balancer.ts';
import { hash32 } from './hash.ts';

const POINTS_PER_WEIGHT = 160;
const MAX_RING = 1 << 17;
/** A ring entry packs hash * INDEX_SPAN + endpoint index into one float64 (< 2^52), so a typed sort orders it. */
const INDEX_SPAN = 1 << 20;

/**
 * A hash ring (Karger/ketama style). Each endpoint owns points named `key-i`, as many as its share of the
 * weight; a request key goes to the first point clockwise whose endpoint is available. The points of an
 * endpoint depend only on its key and its share, so adding or removing one endpoint moves only ~1/N keys.
 * Health changes never rebuild the ring: unavailable endpoints are skipped on the walk.
 */
export class ConsistentHashBalancer<T extends Balanced> implements Balancer<T> {
  #all: readonly T[] = [];
  #ring = new Float64Array(0);
  #availableFor: readonly T[] | undefined;
  #availableSet: ReadonlySet<T> | undefined;

  rebuild(all: readonly T[]): void {
    this.#all = all.filter((e) => e.weight > 0);
    this.#availableFor = undefined;
    const n = this.#all.length;
    if (n >= INDEX_SPAN) throw new RangeError(`consistent hash supports at most ${INDEX_SPAN - 1} endpoints`);
    // points per endpoint = 160 x weight (in units of the weights' gcd), so other endpoints keep their points
    // when one comes or goes; scaled down only past MAX_RING
    let unit = 0;
    let totalWeight = 0;
    for (const e of this.#all) {
      unit = gcd(unit, e.weight);
      totalWeight += e.weight;
    }
    const scale = Math.min(POINTS_PER_WEIGHT / (unit || 1), MAX_RING / (totalWeight || 1));
    const counts = this.#all.map((e) => Math.max(1, Math.round(e.weight * scale)));
    const ring = new Float64Array(counts.reduce((a, b) => a + b, 0));
    let at = 0;
    for (let i = 0; i < n; i++) {
      const key = this.#all[i]!.key;
      for (let p = 0; p < counts[i]!; p++) ring[at++] = hash32(`${key}-${p}`) * INDEX_SPAN + i;
    }
    ring.sort();
    this.#ring = ring;
  }

  /** Size of the ring, for tests and diagnostics. */
  get points(): number {
    return this.#ring.length;
  }

  pick(available: readonly T[], hashKey: string | undefined, exclude: ReadonlySet<T> | undefined): T {
    const ring = this.#ring;
    if (hashKey === undefined || ring.length === 0) {
      const list = withoutExcluded(available, exclude);
      return list[Math.floor(Math.random() * list.length)]!;
    }
    const everyone = available.length >= this.#all.length;
    let set: ReadonlySet<T> | undefined;
    if (!everyone) {
      if (this.#availableFor !== available) {
        this.#availableFor = available;
        this.#availableSet = new Set(available);
      }
      set = this.#availableSet;
    }
    const target = hash32(hashKey) * INDEX_SPAN;
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    for (let step = 0; step < ring.length; step++) {
      const e = this.#all[ring[(lo + step) % ring.length]! % INDEX_SPAN]!;
      if ((set === undefined || set.has(e)) && (exclude === undefined || !exclude.has(e))) return e;
    }
    // everything on the ring was excluded: any available endpoint will do
    return available[0]!;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
