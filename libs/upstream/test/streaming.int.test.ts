import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { UpstreamCluster } from '../src/cluster.ts';
import type { UpstreamError } from '../src/errors.ts';
import { service, startServer, type TestServer } from './helpers.ts';

const MB = 1024 * 1024;
const TOTAL = 10 * MB;
const CHUNK = 64 * 1024;
const servers: TestServer[] = [];
const clusters: UpstreamCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('streaming', () => {
  it('streams a 32 MB request body with backpressure (read ahead of the server only by socket buffers)', async () => {
    // Loopback socket buffers alone hold ~4 MB here (tcp_wmem max) and grow under load: the body is large enough
    // that "bounded by buffers" and "read to the end" stay far apart.
    const UPLOAD = 32 * MB;
    let produced = 0;
    let producedWhilePaused = 0;
    const s = await startServer((req, res) => {
      req.pause();
      setTimeout(() => {
        producedWhilePaused = produced;
        let got = 0;
        req.on('data', (d: Buffer) => {
          got += d.length;
        });
        req.on('end', () => res.end(String(got)));
        req.resume();
      }, 200);
    });
    servers.push(s);
    const c = new UpstreamCluster(service('upload', { endpoints: [{ address: '127.0.0.1', port: s.port }] }));
    clusters.push(c);
    const body = new Readable({
      read() {
        if (produced >= UPLOAD) return void this.push(null);
        produced += CHUNK;
        this.push(Buffer.alloc(CHUNK, 1));
      },
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      c.dispatch(
        { method: 'PUT', path: '/upload', headers: { 'content-length': String(UPLOAD) }, body },
        {
          onResponseStart: () => true,
          onResponseData: (chunk) => parts.push(chunk) > 0,
          onResponseEnd: () => resolve(Buffer.concat(parts).toString()),
          onResponseError: reject,
        },
      );
    });
    assert.equal(reply, String(UPLOAD));
    assert.ok(producedWhilePaused > 0 && producedWhilePaused < 12 * MB, `read ${producedWhilePaused} bytes ahead`);
  });

  it('streams a 10 MB response: a paused sink stops delivery and nothing piles up in memory', async () => {
    let written = 0;
    const s = await startServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(CHUNK, 2);
      while (written < TOTAL) {
        written += CHUNK;
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    });
    servers.push(s);
    const c = new UpstreamCluster(service('download', { endpoints: [{ address: '127.0.0.1', port: s.port }] }));
    clusters.push(c);
    let received = 0;
    let calls = 0;
    let callsDuringHold = -1;
    let memoryGrowth = Number.POSITIVE_INFINITY;
    await new Promise<void>((resolve, reject) => {
      let resume = () => {};
      c.dispatch(
        { method: 'GET', path: '/big', headers: {}, body: null },
        {
          onResponseStart(_status, _headers, call) {
            resume = () => call.resume();
            return true;
          },
          onResponseData(chunk) {
            received += chunk.length;
            calls++;
            if (calls === 1) {
              // a stalled client: hold for 300 ms, nothing may arrive meanwhile
              const before = process.memoryUsage().arrayBuffers;
              setTimeout(() => {
                callsDuringHold = calls - 1;
                memoryGrowth = process.memoryUsage().arrayBuffers - before;
                resume();
              }, 300);
            } else setImmediate(resume);
            return false;
          },
          onResponseEnd: () => resolve(),
          onResponseError: (err: UpstreamError) => reject(err),
        },
      );
    });
    assert.equal(received, TOTAL);
    assert.equal(callsDuringHold, 0, 'no data delivered while paused');
    assert.ok(memoryGrowth < 4 * MB, `memory grew ${memoryGrowth} bytes while paused`);
    assert.ok(calls > 10);
  });
});
