/**
 * Static source: the Registry's address lists, published once at start as a complete listing. Every endpoint is
 * healthy; the Endpoint weight (default 1) is scaled x100 like the registries' default weight; the protocol is the
 * entry's. Entries that share a name are merged. A changed Registry restarts the source (the syncer does that).
 */
import type { DiscoveredEndpoint } from '@portico/config';
import type { DiscoveredService, SourceFactory } from '../../source.ts';

export const staticSource: SourceFactory<'static'> = ({ spec, sink }) => ({
  async start() {
    const services = new Map<string, DiscoveredEndpoint[]>();
    for (const entry of spec.static) {
      let endpoints = services.get(entry.name);
      if (endpoints === undefined) {
        endpoints = [];
        services.set(entry.name, endpoints);
      }
      for (const e of entry.endpoints) {
        const endpoint: DiscoveredEndpoint = {
          address: e.address,
          port: e.port,
          weight: e.weight * 100,
          healthy: true,
          protocol: entry.protocol,
          metadata: {},
        };
        if (e.zone !== undefined) endpoint.zone = e.zone;
        endpoints.push(endpoint);
      }
    }
    const listing: DiscoveredService[] = [...services].map(([name, endpoints]) => ({ name, endpoints }));
    sink.snapshot(listing);
  },
  async stop() {},
});
