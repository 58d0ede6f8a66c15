import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { upstreamChannels } from '../src/channels.ts';
import { retryPolicyFrom } from '../src/retry-policy.ts';
import type { RetryPolicy } from '../src/types.ts';
import { deadPort, dispatchVia, fetchVia, record, service, sleep, tracked } from './helpers.ts';

const { server, cluster } = tracked();
const ep = (port: number, weight = 1) => ({ address: '127.0.0.1', port, weight });
const retry = (over: Partial<Parameters<typeof retryPolicyFrom>[0]> = {}): RetryPolicy =>
  retryPolicyFrom({
    attempts: 2,
    nonIdempotent: false,
    budgetPercent: 20,
    minRetryConcurrency: 3,
    backoff: '1ms',
    ...over,
  });
const named = (name: string) => (_req: unknown, res: import('node:http').ServerResponse) => res.end(name);

describe('UpstreamCluster against real servers', () => {
  it('balances across endpoints and reuses keep-alive connections', async () => {
    const a = await server(named('a'));
    const b = await server(named('b'));
    const c = cluster('rr', { endpoints: [ep(a.port), ep(b.port)] });
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetchVia(c, { path: '/x?y=1' });
      assert.equal(r.status, 200);
      bodies.push(r.body.toString());
    }
    assert.deepEqual(bodies.sort(), ['a', 'a', 'a', 'b', 'b', 'b']);
    assert.equal(a.connections + b.connections, 2);
    assert.equal(a.hits + b.hits, 6);
    assert.equal(c.stats.activeRequests, 0);
  });

  it('retries a refused connection on another endpoint, even with a body', async () => {
    const connectErrors = record(upstreamChannels.connectError);
    const ok = await server((req, res) => {
      let n = 0;
      req.on('data', (d: Buffer) => {
        n += d.length;
      });
      req.on('end', () => res.end(`got ${n}`));
    });
    const c = cluster('refused', { endpoints: [ep(await deadPort()), ep(ok.port)] });
    const { Readable } = await import('node:stream');
    for (let i = 0; i < 4; i++) {
      const r = await fetchVia(c, {
        method: 'POST',
        body: Readable.from([Buffer.from('hello')]),
        headers: { 'content-length': '5' },
        retry: retry(),
      });
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.body.toString(), 'got 5');
    }
    assert.equal(ok.hits, 4);
    assert.ok(
      connectErrors.some((e) => e.backend === 'refused'),
      'the refused connection was reported',
    );
  });

  it('without a retry policy a refused connection is a 502 CONNECT naming the endpoint', async () => {
    const port = await deadPort();
    const c = cluster('noretry', { endpoints: [ep(port)] });
    const r = await fetchVia(c);
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_CONNECT');
    assert.equal(r.error?.status, 502);
    assert.match(r.error!.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  it('retries a 503 on the other endpoint; passes the last 503 through when attempts run out', async () => {
    const bad = await server((_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    const good = await server(named('good'));
    const c = cluster('r503', { loadBalancer: { type: 'RoundRobin' }, endpoints: [ep(bad.port), ep(good.port)] });
    for (let i = 0; i < 4; i++) {
      const r = await fetchVia(c, { retry: retry() });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'good');
    }
    const onlyBad = cluster('only503', { endpoints: [ep(bad.port)] });
    const before = bad.hits;
    const r = await fetchVia(onlyBad, { retry: retry({ attempts: 2 }) });
    assert.equal(r.status, 503);
    assert.equal(r.body.toString(), 'busy');
    assert.equal(bad.hits - before, 3);
  });

  it('does not retry a POST by default, nor after response bytes went to the sink', async () => {
    const bad = await server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = cluster('post', { endpoints: [ep(bad.port)] });
    const r = await fetchVia(c, { method: 'POST', retry: retry() });
    assert.equal(r.status, 503);
    assert.equal(bad.hits, 1);

    const broken = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const c2 = cluster('midstream', { endpoints: [ep(broken.port)] });
    const r2 = await fetchVia(c2, { retry: retry({ attempts: 3 }) });
    assert.equal(r2.status, 200);
    assert.equal(r2.error?.code, 'PORTICO_ERR_UPSTREAM_RESET');
    assert.ok(r2.errorAfterStart);
    assert.equal(r2.body.toString(), 'partial');
    assert.equal(broken.hits, 1);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const bad = await server((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = cluster('budget', { endpoints: [ep(bad.port)] });
    const r = await fetchVia(c, { retry: retry({ attempts: 3, budgetPercent: 0, minRetryConcurrency: 0 }) });
    assert.equal(r.status, 503);
    assert.equal(bad.hits, 1, 'no retry: the budget is 0');

    // 50% of 4 active requests = 2 concurrent retries at most
    const slowBad = await server((_req, res) =>
      setTimeout(() => {
        res.statusCode = 503;
        res.end();
      }, 30),
    );
    const c2 = cluster('budget2', { endpoints: [ep(slowBad.port)] });
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, c2.stats.activeRetries);
    }, 2);
    const policy = retry({ attempts: 2, budgetPercent: 50, minRetryConcurrency: 0 });
    await Promise.all(Array.from({ length: 4 }, () => fetchVia(c2, { retry: policy })));
    clearInterval(watch);
    assert.ok(peak >= 1 && peak <= 2, `peak ${peak}`);
    // 4 first tries; with 2 retry slots for 4 requests, at least 2 requests are refused theirs (at most 2 x 2 retries)
    assert.ok(slowBad.hits >= 5 && slowBad.hits <= 8, `${slowBad.hits} tries`);
    assert.equal(c2.stats.activeRetries, 0);
  });

  it('answers 504 when headers are slower than backendTimeoutMs, and retries elsewhere when 504 is retryable', async () => {
    const slow = await server((_req, res) => {
      const t = setTimeout(() => res.end('late'), 2000);
      res.on('close', () => clearTimeout(t));
    });
    const c = cluster('slow', { endpoints: [ep(slow.port)] });
    const t0 = Date.now();
    const r = await fetchVia(c, { backendTimeoutMs: 100 });
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.equal(r.error?.status, 504);
    assert.ok(Date.now() - t0 < 1000);

    const fast = await server(named('fast'));
    const c2 = cluster('slowfast', { endpoints: [ep(slow.port), ep(fast.port)] });
    for (let i = 0; i < 2; i++) {
      const r2 = await fetchVia(c2, { backendTimeoutMs: 100, retry: retry() });
      assert.equal(r2.body.toString(), 'fast');
    }
  });

  it('cancels the upstream request when the call is aborted', async () => {
    let closed = false;
    let reached!: () => void;
    const arrived = new Promise<void>((r) => {
      reached = r;
    });
    const hang = await server((req, res) => {
      reached();
      res.on('close', () => {
        closed = true;
      });
      req.resume();
    });
    const c = cluster('abort', { endpoints: [ep(hang.port)] });
    const { call, result } = dispatchVia(c);
    await arrived;
    call.abort();
    const r = await result;
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_ABORTED');
    await waitUntil("server 'close'", () => closed, { timeoutMs: 2000 });
    assert.equal(c.endpoints()[0]!.active, 0);
  });

  it('update() keeps the pools of endpoints that stay and drains removed ones', async () => {
    const a = await server(named('a'));
    const b = await server(named('b'));
    const c = cluster('upd', { endpoints: [ep(a.port), ep(b.port)] });
    // undici marks a fresh connection busy until its first 'drain': pace requests so reuse is what we measure
    await fetchVia(c);
    await sleep(20);
    await fetchVia(c);
    await sleep(20);
    assert.equal(a.connections, 1);
    assert.equal(b.connections, 1);
    c.update(service('upd', { endpoints: [ep(a.port, 3)], loadBalancer: { type: 'LeastRequest' } }));
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetchVia(c)).body.toString(), 'a');
      await sleep(20);
    }
    assert.equal(a.connections, 1, 'the kept endpoint reused its keep-alive socket');
    assert.deepEqual(
      c.endpoints().map((e) => [e.port, e.weight]),
      [[a.port, 3]],
    );
    // the removed endpoint's pool closed its idle socket
    await waitUntil(
      'removed pool to close its socket',
      () => new Promise<boolean>((resolve) => b.server.getConnections((_e, n) => resolve(n === 0))),
      { timeoutMs: 2000 },
    );
  });

  it('lets a long response finish on an endpoint removed by update()', async () => {
    const s = await server((_req, res) => {
      res.write('first;');
      setTimeout(() => res.end('last'), 150);
    });
    const c = cluster('drain', { endpoints: [ep(s.port)] });
    const pending = fetchVia(c);
    await sleep(50);
    c.update(service('drain', { endpoints: [] }));
    const r = await pending;
    assert.equal(r.error, undefined);
    assert.equal(r.body.toString(), 'first;last');
  });
});
