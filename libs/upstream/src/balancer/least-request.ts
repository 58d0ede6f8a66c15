import { allWeightsEqual, type Balanced, type Balancer, withoutExcluded } from './balancer.ts';

/**
 * Power of two choices: draw two endpoints (by weight), send to the one with fewer requests in flight per unit
 * of weight. With no load every endpoint scores the same and the weighted draw decides, so weights hold.
 */
export class LeastRequestBalancer<T extends Balanced> implements Balancer<T> {
  #list: readonly T[] | undefined;
  #cumulative = new Float64Array(0);
  #equal = true;
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(available: readonly T[], _hashKey: string | undefined, exclude: ReadonlySet<T> | undefined): T {
    const list = withoutExcluded(available, exclude);
    if (list.length === 1) return list[0]!;
    if (list !== this.#list) this.#reset(list);
    const a = this.#draw(list, -1);
    const b = this.#draw(list, a);
    const x = list[a]!;
    const y = list[b]!;
    // ties go to the first draw, so an idle cluster splits traffic by weight
    return y.active / y.weight < x.active / x.weight ? y : x;
  }

  rebuild(): void {
    this.#list = undefined;
  }

  /** A weighted random index, never `skip` (drawn from the others' weight). */
  #draw(list: readonly T[], skip: number): number {
    const n = list.length;
    if (this.#equal) {
      if (skip < 0) return Math.floor(this.#random() * n);
      const i = Math.floor(this.#random() * (n - 1));
      return i >= skip ? i + 1 : i;
    }
    const c = this.#cumulative;
    const skipStart = skip > 0 ? c[skip - 1]! : 0;
    const skipWeight = skip >= 0 ? c[skip]! - skipStart : 0;
    let target = this.#random() * (c[n - 1]! - skipWeight);
    if (skip >= 0 && target >= skipStart) target += skipWeight;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #reset(list: readonly T[]): void {
    this.#list = list;
    this.#equal = allWeightsEqual(list);
    this.#cumulative = new Float64Array(list.length);
    let sum = 0;
    for (let i = 0; i < list.length; i++) {
      sum += list[i]!.weight;
      this.#cumulative[i] = sum;
    }
  }
}
