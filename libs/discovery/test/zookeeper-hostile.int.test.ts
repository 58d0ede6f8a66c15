/**
 * A registry that answers with bytes the ZooKeeper client cannot read (a reply whose error code is garbage: the
 * client library throws from its socket handler) must never crash the process: the connection is dropped, the
 * source reports the registry down, and keeps trying.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { waitUntil } from '@portico/testkit';
import { zookeeperSource } from '../src/sources/zookeeper/zookeeper-source.ts';
import { RecordingSink } from './recording-sink.ts';

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** A valid ConnectResponse (protocol 0, timeout, session id, a 16-byte password, not read-only). */
function connectResponse(timeoutMs: number): Buffer {
  const b = Buffer.alloc(4 + 4 + 8 + 4 + 16 + 1);
  let o = b.writeInt32BE(0, 0);
  o = b.writeInt32BE(timeoutMs, o);
  o = b.writeBigInt64BE(0x1234n, o);
  o = b.writeInt32BE(16, o);
  return b;
}

test('a reply with an unknown error code drops the connection and reports down; the process lives', async (t) => {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    let handshaken = false;
    socket.on('data', (chunk) => {
      // Each client packet is length-prefixed; the first is the ConnectRequest, the next ones requests with an xid.
      for (let o = 0; o + 4 <= chunk.length; ) {
        const len = chunk.readInt32BE(o);
        const body = chunk.subarray(o + 4, o + 4 + len);
        o += 4 + len;
        if (!handshaken) {
          handshaken = true;
          socket.write(frame(connectResponse(6000)));
          continue;
        }
        const xid = body.length >= 4 ? body.readInt32BE(0) : 1;
        // ReplyHeader: xid, zxid, err. 231866369 is no ZooKeeper error code.
        const reply = Buffer.alloc(16);
        reply.writeInt32BE(xid, 0);
        reply.writeBigInt64BE(1n, 4);
        reply.writeInt32BE(231866369, 12);
        socket.write(frame(reply));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const sink = new RecordingSink();
  const source = zookeeperSource({
    name: 'zk',
    spec: {
      type: 'zookeeper',
      addresses: [`127.0.0.1:${port}`],
      dubboRoot: '/dubbo',
      servicesRoot: '/services',
      sessionTimeout: '6s',
      refreshInterval: '30s',
    },
    sink,
  });
  t.after(async () => {
    await source.stop();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  void source.start();
  await waitUntil('the source reports the registry down', () => sink.calls.some((c) => c.type === 'down'), {
    timeoutMs: 10_000,
  });
  await waitUntil('the client tried again on a new connection', () => connections >= 2, { timeoutMs: 10_000 });
  assert.equal(sink.connected, false);
  assert.equal(sink.services.size, 0);
});
