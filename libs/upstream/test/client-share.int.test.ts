/**
 * One client must never take a Service's whole upstream pool (an HTTP/2 client that never opens its window holds
 * a connection per stream). A cluster counts in-flight requests per ClusterRequest.clientKey.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { dispatchVia, fetchVia, tracked } from './helpers.ts';

const { server, cluster } = tracked();

describe('per-client share of a Service', () => {
  it('refuses a client past half the connections with 429, serves others, forgets a client at zero', async () => {
    const held: ServerResponse[] = [];
    const s = await server((_req, res) => {
      held.push(res);
    });
    const c = cluster('share', {
      endpoints: [{ address: '127.0.0.1', port: s.port }],
      connectionPool: { connections: 4 },
      outlierDetection: { consecutive5xx: 1 },
    });
    assert.equal(c.maxRequestsPerClient, 2);
    const a1 = dispatchVia(c, { clientKey: '192.0.2.1' });
    const a2 = dispatchVia(c, { clientKey: '192.0.2.1' });
    const a3 = await fetchVia(c, { clientKey: '192.0.2.1' });
    assert.equal(a3.error?.code, 'PORTICO_ERR_UPSTREAM_CLIENT_LIMIT');
    assert.equal(a3.error?.status, 429);
    assert.equal(c.inFlightFor('192.0.2.1'), 2);

    // another client still gets the other half
    const b1 = dispatchVia(c, { clientKey: '198.51.100.7' });
    await waitUntil('three requests at the backend', () => held.length === 3, { timeoutMs: 2000 });
    assert.equal(c.inFlightFor('198.51.100.7'), 1);
    assert.equal(c.clientsInFlight, 2);

    // one of a's requests ends: a may send again
    held.shift()!.end('a1');
    assert.equal((await a1.result).body.toString(), 'a1');
    const a4 = dispatchVia(c, { clientKey: '192.0.2.1' });
    await waitUntil('a4 at the backend', () => held.length === 3, { timeoutMs: 2000 });
    for (const res of held.splice(0)) res.end('ok');
    for (const d of [a2, b1, a4]) assert.equal((await d.result).status, 200);

    assert.equal(c.clientsInFlight, 0, 'keys are deleted at zero');
    assert.equal(c.endpoints()[0]!.ejected, false, 'a refusal says nothing about the endpoint');
    assert.equal(s.hits, 4, 'the refused request never reached the backend');
  });

  it('gives the slot back on every ending (error status, cancel, timeout); no key means not counted', async () => {
    const s = await server((req, res) => {
      if (req.url === '/hang') return;
      res.statusCode = req.url === '/busy' ? 503 : 200;
      res.end();
    });
    const c = cluster('ends', {
      endpoints: [{ address: '127.0.0.1', port: s.port }],
      connectionPool: { connections: 2, maxRequestsPerClient: 1 },
    });
    const key = { clientKey: 'k' };
    assert.equal((await fetchVia(c, { ...key, path: '/busy' })).status, 503);
    assert.equal(c.inFlightFor('k'), 0);
    const hung = dispatchVia(c, { ...key, path: '/hang' });
    assert.equal((await fetchVia(c, key)).error?.status, 429);
    hung.call.abort();
    assert.equal((await hung.result).error?.code, 'PORTICO_ERR_UPSTREAM_ABORTED');
    await waitUntil('the slot back after the cancel', () => c.inFlightFor('k') === 0, { timeoutMs: 2000 });
    assert.equal((await fetchVia(c, { ...key, backendTimeoutMs: 50, path: '/hang' })).error?.status, 504);
    assert.equal(c.inFlightFor('k'), 0);
    assert.equal((await fetchVia(c, key)).status, 200);
    // without a clientKey (mirrors, internal calls) nothing is counted
    const unkeyed = [dispatchVia(c, { path: '/hang' }), dispatchVia(c, { path: '/hang' })];
    assert.equal(c.clientsInFlight, 0);
    for (const d of unkeyed) d.call.abort();
  });

  it('maxRequestsPerClient 0 turns the share off', async () => {
    const s = await server((_req, res) => setTimeout(() => res.end('ok'), 30));
    const c = cluster('off', {
      endpoints: [{ address: '127.0.0.1', port: s.port }],
      connectionPool: { connections: 2, maxRequestsPerClient: 0 },
    });
    const results = await Promise.all(Array.from({ length: 6 }, () => fetchVia(c, { clientKey: 'one' })));
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(c.clientsInFlight, 0);
  });
});
