import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamCluster } from '../src/cluster.ts';
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
      () => new UpstreamCluster(service('x', {}), { bodyTimeoutMs: -1 }),
      (e: unknown) => e instanceof UpstreamOptionError && /bodyTimeoutMs/.test(e.message),
    );
    const c = new UpstreamCluster(service('x', {}));
    assert.throws(() => c.update(service('y', {})), /service\.metadata\.name/);
  });
});
