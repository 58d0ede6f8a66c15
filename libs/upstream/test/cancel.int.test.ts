/**
 * Cancelled requests must not cost backend connections (a client resetting streams as fast as it opens them must
 * not make the proxy open a backend connection each time). What undici 8 does over HTTP/1.1:
 * - cancelled while queued (in the Pool or a Client queue): the request is only looked at again when a socket is
 *   free (writeH1 -> onRequestStart). Aborting through the controller there destroys that socket, though nothing
 *   of the request was written; throwing from onRequestStart makes undici drop the request and keep the socket.
 * - started but head not yet written (a stream body with no chunk yet): undici's abort always destroys the socket,
 *   and so does the body erroring; only a socket close can end it.
 * - written: the response is on its way on that socket; aborting destroys it. The cluster instead reads and drops
 *   a small, prompt response (64 KiB, 1 s) and only cuts the socket past that.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { dispatchVia, fetchVia, sleep, tracked } from './helpers.ts';

const { server, cluster } = tracked();
const ep = (port: number) => ({ address: '127.0.0.1', port });

describe('cancelled requests', () => {
  it('500 requests cancelled while queued cost no connections; the pool works afterwards', async () => {
    const s = await server((_req, res) => res.end('ok'));
    const c = cluster('queued', {
      endpoints: [ep(s.port)],
      connectionPool: { connections: 4 },
    });
    const calls = Array.from({ length: 500 }, () => dispatchVia(c));
    for (const d of calls) d.call.abort();
    const results = await Promise.all(calls.map((d) => d.result));
    assert.ok(results.every((r) => r.error?.code === 'PORTICO_ERR_UPSTREAM_ABORTED'));
    // the pool's connections are opened, then every queued request is dropped without closing them
    await sleep(100);
    for (let i = 0; i < 8; i++) assert.equal((await fetchVia(c)).body.toString(), 'ok');
    assert.equal(s.hits, 8, 'no cancelled request reached the backend');
    assert.ok(s.connections <= 4, `${s.connections} backend connections`);
    assert.equal(c.stats.activeRequests, 0);
    assert.equal(c.endpoints()[0]!.active, 0);
  });

  it('cancelled after being sent: a prompt response is read and dropped, the connection kept', async () => {
    const s = await server((_req, res) => setTimeout(() => res.end('late answer'), 50));
    const c = cluster('sent', {
      endpoints: [ep(s.port)],
      connectionPool: { connections: 4 },
    });
    await Promise.all(Array.from({ length: 4 }, () => fetchVia(c)));
    assert.equal(s.connections, 4);
    for (let round = 0; round < 3; round++) {
      const hitsBefore = s.hits;
      const calls = Array.from({ length: 20 }, () => dispatchVia(c));
      await waitUntil('the four connections to carry a request', () => s.hits === hitsBefore + 4, { timeoutMs: 2000 });
      for (const d of calls) d.call.abort();
      for (const r of await Promise.all(calls.map((d) => d.result)))
        assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_ABORTED');
      await waitUntil('drains to finish', () => c.endpoints()[0]!.active === 0, { timeoutMs: 2000 });
    }
    await sleep(20);
    for (let i = 0; i < 4; i++) assert.equal((await fetchVia(c)).body.toString(), 'late answer');
    assert.equal(s.connections, 4, 'no connection was replaced: all 12 cancelled responses were drained');
  });

  it('cuts the socket when the cancelled response is too big or too slow to drain', async () => {
    // The rest of the answer leaves only once the call is cancelled: the drain must meet all 256 KiB of it.
    let sendRest = () => {};
    const cancelled = new Promise<void>((resolve) => {
      sendRest = resolve;
    });
    const big = await server((_req, res) => {
      res.write(Buffer.alloc(16 * 1024));
      void cancelled.then(() => res.end(Buffer.alloc(256 * 1024)));
    });
    const c = cluster('big', { endpoints: [ep(big.port)], connectionPool: { connections: 1 } });
    const d = dispatchVia(c);
    await waitUntil('the request to arrive', () => big.hits === 1, { timeoutMs: 2000 });
    await sleep(10);
    d.call.abort();
    sendRest();
    await waitUntil('the drain to give up', () => c.endpoints()[0]!.active === 0, { timeoutMs: 2000 });
    assert.equal((await fetchVia(c)).body.length, 16 * 1024 + 256 * 1024);
    assert.equal(big.connections, 2, 'a 256 KiB rest is not worth reading: new connection');

    const slow = await server((_req, res) => {
      const t = setTimeout(() => res.end('too late'), 4000);
      res.on('close', () => clearTimeout(t));
    });
    const c2 = cluster('slow', { endpoints: [ep(slow.port)], connectionPool: { connections: 1 } });
    const d2 = dispatchVia(c2);
    await waitUntil('the request to arrive', () => slow.hits === 1, { timeoutMs: 2000 });
    const t0 = Date.now();
    d2.call.abort();
    assert.equal((await d2.result).error?.code, 'PORTICO_ERR_UPSTREAM_ABORTED', 'the caller hears at once');
    await waitUntil('the drain to give up', () => c2.endpoints()[0]!.active === 0, { timeoutMs: 3000 });
    assert.ok(Date.now() - t0 < 3000, 'cut after the 1 s drain, not after the backend answered');
  });

  it('does not drain over HTTP/1.1 when the request body was not all sent', async () => {
    const { PassThrough } = await import('node:stream');
    const s = await server((req, res) => {
      req.resume();
      req.on('end', () => res.end('done'));
    });
    const c = cluster('upload', { endpoints: [ep(s.port)], connectionPool: { connections: 1 } });
    const body = new PassThrough();
    body.write('part of it');
    const d = dispatchVia(c, { method: 'POST', body, headers: { 'content-length': '100' } });
    await waitUntil('the request to arrive', () => s.hits === 1, { timeoutMs: 2000 });
    d.call.abort();
    assert.equal((await d.result).error?.code, 'PORTICO_ERR_UPSTREAM_ABORTED');
    await waitUntil('the attempt to end', () => c.endpoints()[0]!.active === 0, { timeoutMs: 2000 });
    assert.equal((await fetchVia(c)).body.toString(), 'done');
    assert.equal(s.connections, 2, 'the half-sent request took its socket with it');
  });
});
