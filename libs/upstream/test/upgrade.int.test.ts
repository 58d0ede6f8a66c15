import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { UpstreamCluster } from '../src/cluster.ts';
import type { Headers } from '../src/types.ts';
import { service, startServer, type TestServer } from './helpers.ts';

let s: TestServer;
let wss: WebSocketServer;
let c: UpstreamCluster;
after(async () => {
  await c?.close();
  wss?.close();
  await s?.close();
});

/** A masked client text frame (payload < 126 bytes), RFC 6455 5.2. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('upgrade', () => {
  it('hands the upgraded socket to onUpgrade (websocket against a ws server)', async () => {
    s = await startServer((_req, res) => res.end('plain'));
    wss = new WebSocketServer({ server: s.server });
    wss.on('connection', (ws: WebSocket) => ws.on('message', (m: Buffer) => ws.send(`echo:${m}`)));
    c = new UpstreamCluster(service('ws', { endpoints: [{ address: '127.0.0.1', port: s.port }] }));

    const { status, headers, socket } = await new Promise<{ status: number; headers: Headers; socket: Duplex }>(
      (resolve, reject) =>
        c.dispatch(
          {
            method: 'GET',
            path: '/chat',
            headers: {
              'sec-websocket-key': randomBytes(16).toString('base64'),
              'sec-websocket-version': '13',
            },
            body: null,
            upgrade: 'websocket',
          },
          {
            onResponseStart: () => reject(new Error('expected an upgrade')),
            onResponseData: () => true,
            onResponseEnd: () => {},
            onResponseError: reject,
            onUpgrade: (st, h, sock) => resolve({ status: st, headers: h, socket: sock }),
          },
        ),
    );
    assert.equal(status, 101);
    assert.equal(String(headers.upgrade).toLowerCase(), 'websocket');
    assert.ok(headers['sec-websocket-accept']);
    socket.write(textFrame('hi'));
    const [frame] = (await once(socket, 'data')) as [Buffer];
    assert.equal(frame[0], 0x81);
    assert.equal(frame.subarray(2, 2 + frame[1]!).toString(), 'echo:hi');
    socket.destroy();
    assert.equal(c.endpoints()[0]!.active, 0);
  });
});
