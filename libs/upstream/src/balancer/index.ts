import type { Balanced, Balancer } from './balancer.ts';
import { ConsistentHashBalancer } from './consistent-hash.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { RoundRobinBalancer } from './round-robin.ts';

export type BalancerType = 'RoundRobin' | 'LeastRequest' | 'ConsistentHash';

/** One place maps a Service's `loadBalancer.type` to its balancer. */
export const balancers: Record<BalancerType, <T extends Balanced>() => Balancer<T>> = {
  RoundRobin: () => new RoundRobinBalancer(),
  LeastRequest: () => new LeastRequestBalancer(),
  ConsistentHash: () => new ConsistentHashBalancer(),
};

export type { Balanced, Balancer } from './balancer.ts';
export { ConsistentHashBalancer, LeastRequestBalancer, RoundRobinBalancer };
