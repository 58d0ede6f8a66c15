/**
 * What Spring Cloud Zookeeper registers under /services/<name>/<id>: Curator x-discovery's
 * ServiceInstance<ZookeeperInstance> JSON with the default uriSpec (format from Curator's JsonInstanceSerializer).
 */
export interface SpringZookeeperInstanceOptions {
  name: string;
  id: string;
  address: string;
  port: number;
  /** ZookeeperInstance metadata; `instance_status: UP` unless overridden. */
  metadata?: Record<string, unknown>;
  registrationTimeUTC?: number;
}

/** The instance as a JSON-ready object; `over` replaces top-level fields (to write broken or unusual ones). */
export function springZookeeperInstance(opts: SpringZookeeperInstanceOptions, over: Record<string, unknown> = {}) {
  return {
    name: opts.name,
    id: opts.id,
    address: opts.address,
    port: opts.port,
    sslPort: null,
    payload: {
      '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
      id: `${opts.name}-${opts.port}`,
      name: opts.name,
      metadata: { instance_status: 'UP', ...opts.metadata },
    },
    registrationTimeUTC: opts.registrationTimeUTC ?? 1_700_000_000_000,
    serviceType: 'DYNAMIC',
    uriSpec: {
      parts: [
        { value: 'scheme', variable: true },
        { value: '://', variable: false },
        { value: 'address', variable: true },
        { value: ':', variable: false },
        { value: 'port', variable: true },
      ],
    },
    enabled: true,
    ...over,
  };
}
