/**
 * Backends that answer in ways a client library would smooth over, written as exact bytes on raw sockets
 * (node:net), beside a node:http backend for the ordinary case.
 *
 * 1xx: undici 8 reports a 1xx other than 100 through onResponseStart (103, 102...), then the
 * final response through onResponseStart again, over HTTP/1.1 and HTTP/2. The cluster hands 1xx to
 * sink.onInformational and only the final response commits. An unasked-for `100 Continue` over HTTP/1.1 is
 * refused by undici itself (it destroys the socket: "bad response"), so the caller gets a 502 RESET.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createH2Server } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { retryPolicyFrom } from '../src/retry-policy.ts';
import { dispatchVia, sleep, tracked } from './helpers.ts';

const { server, cluster } = tracked();
const rawServers: net.Server[] = [];
after(() => {
  for (const s of rawServers) s.close();
});
const ep = (port: number) => ({ address: '127.0.0.1', port });

/** A raw backend: for each request head received, writes `answer` (a list of byte strings, a pause between). */
async function rawBackend(answer: string[], pauseMs = 20): Promise<{ port: number; connections: number }> {
  const state = { port: 0, connections: 0 };
  const s = net.createServer((sock) => {
    state.connections++;
    let buffered = '';
    sock.on('data', async (d) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        for (const part of answer) {
          if (sock.destroyed) return;
          sock.write(part);
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      }
    });
    sock.on('error', () => {});
  });
  rawServers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  state.port = (s.address() as AddressInfo).port;
  return state;
}

const FINAL = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nfinal';

describe('1xx before the final response', () => {
  it('node:http writeEarlyHints: the hints reach onInformational, the 200 is the response', async () => {
    const s = await server((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      setTimeout(() => res.end('final'), 20);
    });
    const c = cluster('hints', { endpoints: [ep(s.port)] });
    const d = dispatchVia(c);
    const r = await d.result;
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'final');
    assert.deepEqual(
      d.informational.map((i) => [i.status, i.headers.link]),
      [[103, '</style.css>; rel=preload; as=style']],
    );
  });

  it('raw 103 and 102 before a 200: both passed on, response delivered, connection kept', async () => {
    const b = await rawBackend([
      'HTTP/1.1 102 Processing\r\n\r\n',
      'HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n',
      FINAL,
    ]);
    const c = cluster('raw-hints', {
      endpoints: [ep(b.port)],
      outlierDetection: { consecutive5xx: 1 },
    });
    for (let i = 0; i < 3; i++) {
      const d = dispatchVia(c, { backendTimeoutMs: 2000 });
      const r = await d.result;
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'final');
      assert.deepEqual(
        d.informational.map((x) => x.status),
        [102, 103],
      );
      assert.equal(d.informational[1]!.headers.link, '</app.js>; rel=preload; as=script');
      // undici marks a fresh connection busy until its first 'drain': pace requests so reuse is what we measure
      await sleep(20);
    }
    assert.equal(b.connections, 1);
    assert.equal(c.endpoints()[0]!.ejected, false);
  });

  it('a retried attempt: the 503 is dropped, the hints of the answering attempt come with its 200', async () => {
    let n = 0;
    const s = await server((_req, res) => {
      if (n++ === 0) {
        res.statusCode = 503;
        res.end('busy');
        return;
      }
      res.writeEarlyHints({ link: '</second>; rel=preload' });
      res.end('final');
    });
    const c = cluster('hints-retry', { endpoints: [ep(s.port)] });
    const d = dispatchVia(c, {
      retry: retryPolicyFrom({
        attempts: 1,
        backoff: '1ms',
        nonIdempotent: false,
        budgetPercent: 100,
        minRetryConcurrency: 1,
      }),
    });
    const r = await d.result;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'final');
    assert.deepEqual(
      d.informational.map((x) => x.headers.link),
      ['</second>; rel=preload'],
    );
  });

  it('an unasked-for 100 Continue: undici refuses the response, the caller gets a clean 502', async () => {
    const b = await rawBackend(['HTTP/1.1 100 Continue\r\n\r\n', FINAL]);
    const c = cluster('raw-100', { endpoints: [ep(b.port)] });
    const d = dispatchVia(c);
    const r = await d.result;
    assert.equal(r.status, undefined, 'nothing committed');
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_RESET');
    assert.equal(r.error?.status, 502);
    assert.deepEqual(d.informational, []);
  });

  it('HTTP/2 backend: a 103 before the final HEADERS', async () => {
    const h2 = createH2Server();
    h2.on('stream', (stream) => {
      stream.additionalHeaders({ ':status': 103, link: '</h2.css>; rel=preload' });
      setTimeout(() => {
        stream.respond({ ':status': 200 });
        stream.end('final');
      }, 20);
    });
    h2.listen(0, '127.0.0.1');
    await once(h2, 'listening');
    after(() => {
      h2.close();
    });
    const c = cluster('h2-hints', {
      protocol: 'http2',
      endpoints: [ep((h2.address() as AddressInfo).port)],
    });
    const d = dispatchVia(c);
    const r = await d.result;
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'final');
    assert.deepEqual(
      d.informational.map((x) => [x.status, x.headers.link]),
      [[103, '</h2.css>; rel=preload']],
    );
  });
});

describe('backends that never answer', () => {
  it('accepts, reads the request, sends nothing: 504 by responseHeadersTimeout', async () => {
    const b = await rawBackend([]);
    const c = cluster('silent', {
      endpoints: [ep(b.port)],
      connectionPool: { responseHeadersTimeout: '300ms' },
    });
    const t0 = Date.now();
    const r = await dispatchVia(c).result;
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
  });

  it('sends the head and part of the body, then nothing: ends by bodyIdleTimeout after the response started', async () => {
    const b = await rawBackend(['HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf']);
    const c = cluster('stalls', {
      endpoints: [ep(b.port)],
      connectionPool: { bodyIdleTimeout: '300ms' },
    });
    const r = await dispatchVia(c).result;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'half');
    assert.equal(r.error?.code, 'PORTICO_ERR_UPSTREAM_TIMEOUT');
    assert.ok(r.errorAfterStart);
  });
});
