/**
 * Services with protocol http2 or grpc are spoken to over HTTP/2 with prior knowledge (h2c), many requests
 * multiplexed on one connection, trailers (gRPC's grpc-status) passed on. A real node:http2 server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { UpstreamCluster } from '../src/cluster.ts';
import type { Headers, ResponseSink } from '../src/types.ts';
import { service } from './helpers.ts';

let server: Http2Server;
let port: number;
const sessions = new Set<unknown>();
const versions: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    versions.push(req.httpVersion);
    sessions.add(req.stream.session);
    res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
    res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' });
    res.end(`answer to ${req.url}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.close();
});

function call(cluster: UpstreamCluster, path: string) {
  return new Promise<{ status: number; body: string; trailers: Headers }>((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    const sink: ResponseSink = {
      onResponseStart(s) {
        status = s;
        return true;
      },
      onResponseData(c) {
        chunks.push(c);
        return true;
      },
      onResponseEnd(trailers) {
        resolve({ status, body: Buffer.concat(chunks).toString(), trailers });
      },
      onResponseError: reject,
    };
    cluster.dispatch({ method: 'POST', path, headers: ['content-type', 'application/grpc'], body: null }, sink);
  });
}

for (const protocol of ['http2', 'grpc'] as const) {
  test(`protocol ${protocol}: HTTP/2 to the endpoint, requests multiplexed, trailers kept`, async () => {
    versions.length = 0;
    sessions.clear();
    const cluster = new UpstreamCluster(
      service(`h2-${protocol}`, { protocol, endpoints: [{ address: '127.0.0.1', port }] }),
    );
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(cluster, `/svc/M${i}`)));
      assert.deepEqual(new Set(versions), new Set(['2.0']));
      assert.equal(sessions.size, 1, 'one HTTP/2 connection carries every request');
      results.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body, `answer to /svc/M${i}`);
        assert.equal(r.trailers['grpc-status'], '0');
      });
    } finally {
      await cluster.close();
    }
  });
}
