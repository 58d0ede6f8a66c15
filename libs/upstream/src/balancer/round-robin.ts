import { allWeightsEqual, type Balanced, type Balancer, withoutExcluded } from './balancer.ts';

/**
 * Smooth weighted round robin (nginx's): each pick adds every weight to its current value, takes the largest
 * and subtracts the total from it, so weights 5,1,1 give a,a,b,a,c,a,a rather than bursts. Equal weights take a
 * plain rotating index.
 */
export class RoundRobinBalancer<T extends Balanced> implements Balancer<T> {
  #list: readonly T[] | undefined;
  #current = new Float64Array(0);
  #equal = true;
  #next = 0;

  pick(available: readonly T[], _hashKey: string | undefined, exclude: ReadonlySet<T> | undefined): T {
    const list = withoutExcluded(available, exclude);
    if (list !== this.#list) this.#reset(list);
    const n = list.length;
    if (this.#equal) {
      const i = this.#next++ % n;
      if (this.#next >= n) this.#next = 0;
      return list[i]!;
    }
    const current = this.#current;
    let total = 0;
    let best = 0;
    for (let i = 0; i < n; i++) {
      const w = list[i]!.weight;
      total += w;
      current[i]! += w;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return list[best]!;
  }

  rebuild(): void {
    this.#list = undefined;
  }

  #reset(list: readonly T[]): void {
    this.#list = list;
    this.#equal = allWeightsEqual(list);
    this.#current = new Float64Array(list.length);
    if (this.#next >= list.length) this.#next = 0;
  }
}
