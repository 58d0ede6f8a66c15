/**
 * ZooKeeper source (node-zookeeper-client): one session core listing two layouts from the Registry spec, each under
 * its own root:
 * - `dubboRoot`: Dubbo interface-level providers (dubbo-layout.ts);
 * - `servicesRoot`: Curator x-discovery instances, as Spring Cloud Zookeeper and Dubbo 3 application-level
 *   registration write them (curator-layout.ts).
 * Session handling, watches and what reaches the sink live in session-core.ts.
 */
import { durationMs } from '@portico/config';
import type { DiscoverySource, SourceFactory, SourceInit } from '../../source.ts';
import { CuratorLayout } from './curator-layout.ts';
import { DubboLayout } from './dubbo-layout.ts';
import { ZooKeeperConfigError } from './errors.ts';
import { normalizeRoot } from './layout.ts';
import { SessionCore } from './session-core.ts';

export const zookeeperSource: SourceFactory<'zookeeper'> = (init) => createZooKeeperSource(init);

function createZooKeeperSource({ spec, sink }: SourceInit<'zookeeper'>): DiscoverySource {
  const dubboRoot = normalizeRoot(spec.dubboRoot, 'dubboRoot');
  const servicesRoot = normalizeRoot(spec.servicesRoot, 'servicesRoot');
  const sessionTimeoutMs = durationMs(spec.sessionTimeout);
  const refreshMs = durationMs(spec.refreshInterval);
  if (sessionTimeoutMs < 1000)
    throw new ZooKeeperConfigError('spec.sessionTimeout', 'must be at least 1s (ZooKeeper raises it to 2 ticks)');
  if (refreshMs < 100) throw new ZooKeeperConfigError('spec.refreshInterval', 'must be at least 100ms');
  return new SessionCore({
    connectString: spec.addresses.join(','),
    sessionTimeoutMs,
    refreshMs,
    digest: spec.credentials?.digest,
    sink,
    layouts: (view) => [
      new DubboLayout({ root: dubboRoot, services: spec.services, view }),
      new CuratorLayout({ root: servicesRoot, services: spec.services, view }),
    ],
  });
}
