import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationMs, ServiceSpec } from '@portico/config';
import { CLUSTER_DEFAULTS, UpstreamCluster } from '../src/cluster.ts';
import { UpstreamOptionError } from '../src/errors.ts';
import { fetchVia, service } from './helpers.ts';

describe('UpstreamCluster (no traffic)', () => {
  it('never picks a weight 0 endpoint', async () => {
    const c = new UpstreamCluster(
      service('w', {
        endpoints: [
          { address: '10.0.0.1', port: 80, weight: 0 },
          { address: '10.0.0.2', port: 80, weight: 2 },
          { address: '10.0.0.3', port: 80, weight: 1 },
        ],
      }),
    );
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const e = c.pick()!;
      seen.set(e.address, (seen.get(e.address) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(seen), { '10.0.0.2': 200, '10.0.0.3': 100 });
    await c.close();
  });

  it('answers 503 NO_ENDPOINTS when nothing can take traffic', async () => {
    const c = new UpstreamCluster(service('empty', { endpoints: [{ address: '10.0.0.1', port: 80, weight: 0 }] }));
    const r = await fetchVia(c);
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_NO_ENDPOINTS');
    assert.equal(r.error?.status, 503);
    assert.match(r.error!.message, /cluster "empty"/);
    await c.close();
    const after = await fetchVia(c);
    assert.equal(after.error?.code, 'PORTICO_ERR_UPSTREAM_CLOSED');
  });

  it('guards its options, naming option and rule', () => {
    assert.throws(
      () => new UpstreamCluster(service('x', {}), { maxEjectionTimeMs: -1 }),
      (e: unknown) => e instanceof UpstreamOptionError && /maxEjectionTimeMs/.test(e.message),
    );
    const c = new UpstreamCluster(service('x', {}));
    assert.throws(() => c.update(service('y', {})), /service\.metadata\.name/);
  });

  it("keeps CLUSTER_DEFAULTS equal to the Service schema's connectionPool defaults", () => {
    const pool = ServiceSpec.parse({ connectionPool: {} }).connectionPool!;
    assert.equal(pool.connections, CLUSTER_DEFAULTS.connections);
    assert.equal(durationMs(pool.keepAliveTimeout), CLUSTER_DEFAULTS.keepAliveTimeoutMs);
    assert.equal(durationMs(pool.connectTimeout), CLUSTER_DEFAULTS.connectTimeoutMs);
    assert.equal(durationMs(pool.responseHeadersTimeout), CLUSTER_DEFAULTS.responseHeadersTimeoutMs);
    assert.equal(durationMs(pool.bodyIdleTimeout), CLUSTER_DEFAULTS.bodyIdleTimeoutMs);
    assert.equal(pool.maxRequestsPerClient, undefined, 'unset means a share of connections');
  });

  it('lets one client hold half of the connections by default, or what maxRequestsPerClient says', () => {
    const byDefault = new UpstreamCluster(service('share', {}));
    assert.equal(byDefault.maxRequestsPerClient, 64);
    const endpoints = [1, 2, 3].map((i) => ({ address: `10.0.0.${i}`, port: 80 }));
    const three = new UpstreamCluster(service('share', { endpoints, connectionPool: { connections: 10 } }));
    assert.equal(three.maxRequestsPerClient, 15, 'half of the whole Service: connections x endpoints');
    const four = new UpstreamCluster(service('share', { connectionPool: { connections: 4 } }));
    assert.equal(four.maxRequestsPerClient, 2);
    const one = new UpstreamCluster(service('share', { connectionPool: { connections: 1 } }));
    assert.equal(one.maxRequestsPerClient, 1, 'at least one');
    const off = new UpstreamCluster(service('share', { connectionPool: { maxRequestsPerClient: 0 } }));
    assert.equal(off.maxRequestsPerClient, 0);
    off.update(service('share', { connectionPool: { maxRequestsPerClient: 7 } }));
    assert.equal(off.maxRequestsPerClient, 7);
  });
});
