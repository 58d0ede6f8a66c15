/**
 * Upstream timeouts by default, and slow clients that must not become the endpoint's fault (a slow upload is not
 * a backend timeout, and outlier detection never ejects an endpoint for it).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PorticoError } from '@portico/errors';
import { waitUntil } from '@portico/testkit';
import { upstreamChannels } from '../src/channels.ts';
import { dispatchVia, fetchVia, record, sleep, tracked } from './helpers.ts';

const { server, cluster } = tracked();
const ep = (port: number) => ({ address: '127.0.0.1', port });

/** A request body that a slow client trickles: `chunks` pieces, one every `everyMs`. */
function trickle(chunks: number, everyMs: number): { body: PassThrough; length: number; ended: Promise<number> } {
  const body = new PassThrough();
  const ended = (async () => {
    for (let i = 0; i < chunks; i++) {
      body.write('x'.repeat(10));
      await sleep(everyMs);
    }
    body.end();
    return Date.now();
  })();
  return { body, length: chunks * 10, ended };
}

/** Reads the whole request body, then answers at once (or never, with hang). */
const echoLength =
  (hang = false) =>
  (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
    });
    req.on('end', () => {
      if (!hang) res.end(`got ${n}`);
    });
  };

describe('backendTimeoutMs and slow uploads', () => {
  it('a slow upload is not a backend timeout: the timer starts when the body is all sent', async () => {
    const s = await server(echoLength());
    const s2 = await server(echoLength());
    const c = cluster('slow-upload', {
      endpoints: [ep(s.port), ep(s2.port)],
      outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 },
    });
    for (let i = 0; i < 2; i++) {
      const t = trickle(5, 80);
      const r = await fetchVia(c, {
        method: 'POST',
        body: t.body,
        headers: { 'content-length': String(t.length) },
        backendTimeoutMs: 200,
      });
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.body.toString(), 'got 50');
    }
    assert.ok(
      c.endpoints().every((e) => !e.ejected),
      'no endpoint ejected',
    );
  });

  it('once the body is sent, a backend slower than backendTimeoutMs is a 504 (timed from the end of the body)', async () => {
    const s = await server(echoLength(true));
    const c = cluster('slow-after-upload', { endpoints: [ep(s.port)] });
    const t = trickle(4, 100);
    const r = await fetchVia(c, {
      method: 'POST',
      body: t.body,
      headers: { 'content-length': String(t.length) },
      backendTimeoutMs: 200,
    });
    const ended = await t.ended;
    const afterBody = Date.now() - ended;
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.ok(afterBody >= 100 && afterBody < 1000, `504 ${afterBody} ms after the body ended`);
  });

  it('a client body that fails is the client fault: never ejects the endpoint nor counts as a connect failure', async () => {
    const connectErrors = record(upstreamChannels.connectError);
    const ejected = record(upstreamChannels.ejected);
    const s = await server(echoLength(true));
    const c = cluster('client-body', {
      endpoints: [ep(s.port)],
      outlierDetection: { consecutive5xx: 1, consecutiveConnectFailures: 1 },
    });
    // mid-upload: the client goes away
    const gone = new PassThrough();
    gone.write('some');
    const d = dispatchVia(c, { method: 'POST', body: gone, headers: { 'content-length': '100' } });
    await waitUntil('the request to arrive', () => s.hits === 1, { timeoutMs: 2000 });
    gone.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const r = await d.result;
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_CLIENT_BODY');
    assert.equal(r.error?.status, 499);

    // a body limit cutting the stream keeps its own 4xx
    const limited = new PassThrough();
    limited.write('too much');
    const d2 = dispatchVia(c, { method: 'POST', body: limited });
    await waitUntil('the second request to arrive', () => s.hits === 2, { timeoutMs: 2000 });
    limited.destroy(new PorticoError('PORTICO_ERR_TEST_BODY_LIMIT', 'body over the limit', { status: 413 }));
    assert.equal((await d2.result).error?.status, 413);

    // a body that failed before the request got a connection: still the client, not a connect failure
    const early = new PassThrough();
    const d3 = dispatchVia(c, { method: 'POST', body: early, headers: { 'content-length': '10' } });
    early.destroy(new Error('client reset'));
    const r3 = await d3.result;
    assert.equal(r3.error?.code, 'PORTICO_ERR_UPSTREAM_CLIENT_BODY');
    assert.equal(r3.error?.connectFailure, false);

    assert.deepEqual(
      connectErrors.filter((e) => e.backend === 'client-body'),
      [],
    );
    assert.equal(c.endpoints()[0]!.ejected, false);
    assert.deepEqual(
      ejected.filter((e) => e.backend === 'client-body'),
      [],
    );
  });
});

describe('Service timeouts (connectionPool)', () => {
  it('responseHeadersTimeout bounds a hanging backend, with and without a body, not counting the upload', async () => {
    const s = await server(echoLength(true));
    const c = cluster('headers', {
      endpoints: [ep(s.port)],
      connectionPool: { responseHeadersTimeout: '200ms' },
    });
    const t0 = Date.now();
    const r = await fetchVia(c);
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.equal(r.error?.status, 504);
    // undici's own timers (body-less requests) tick at about 0.5-1 s
    assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);

    const t = trickle(5, 100);
    const r2 = await fetchVia(c, { method: 'PUT', body: t.body, headers: { 'content-length': String(t.length) } });
    const afterBody = Date.now() - (await t.ended);
    assert.equal(r2.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.match(r2.error!.message, /within 200 ms/);
    assert.ok(afterBody >= 100 && afterBody < 1000, `504 ${afterBody} ms after the body ended`);
  });

  it('bodyIdleTimeout ends a response that stalls between chunks; 0s leaves it alone', async () => {
    const s = await server((req, res) => {
      res.write('first;');
      const t = setTimeout(() => res.end('last'), req.url === '/short' ? 400 : 5000);
      res.on('close', () => clearTimeout(t));
    });
    const c = cluster('idle', { endpoints: [ep(s.port)], connectionPool: { bodyIdleTimeout: '200ms' } });
    const t0 = Date.now();
    const r = await fetchVia(c);
    assert.equal(r.status, 200);
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.ok(r.errorAfterStart);
    assert.equal(r.body.toString(), 'first;');
    assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);

    const off = cluster('idle-off', { endpoints: [ep(s.port)], connectionPool: { bodyIdleTimeout: '0s' } });
    const r2 = await fetchVia(off, { path: '/short' });
    assert.equal(r2.error, undefined);
    assert.equal(r2.body.toString(), 'first;last');
  });

  it('a Service update changes the timeouts of requests on the pools it keeps', async () => {
    const s = await server(() => {});
    const c = cluster('upd', { endpoints: [ep(s.port)], connectionPool: { responseHeadersTimeout: '10s' } });
    const { service } = await import('./helpers.ts');
    c.update(service('upd', { endpoints: [ep(s.port)], connectionPool: { responseHeadersTimeout: '100ms' } }));
    const t0 = Date.now();
    assert.equal((await fetchVia(c)).error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - t0 < 2500, `${Date.now() - t0} ms`);
  });
});
