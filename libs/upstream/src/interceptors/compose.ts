import type { ClusterContext } from './chain.ts';
import { outlier } from './outlier.ts';
import { type ClusterDispatch, retry } from './retry.ts';
import { send } from './send.ts';
import { timeout } from './timeout.ts';

/** The one place that fixes the order: retry(timeout(outlier(pick + pool))). */
export function composeCluster(cluster: ClusterContext): ClusterDispatch {
  return retry(cluster)(timeout(cluster)(outlier(cluster)(send(cluster))));
}
