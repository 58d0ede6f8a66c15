import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findNatsServer, type NatsServer, startNatsServer } from '../src/index.ts';

/** Connects, reads the server's INFO line; null if the connection is refused. */
function readInfo(port: number): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => resolve(null));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      resolve(JSON.parse(buf.slice('INFO '.length, end)) as Record<string, unknown>);
    });
  });
}

const servers: NatsServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

test('a missing binary fails with an install hint', () => {
  const empty = mkdtempSync(join(tmpdir(), 'portico-nobin-'));
  try {
    assert.throws(
      () => findNatsServer([empty]),
      /nats-server not found: install it with `apt-get install nats-server`/,
    );
  } finally {
    rmSync(empty, { recursive: true });
  }
});

test('starts a JetStream server on a random port, stops and restarts on the same port and store', async () => {
  const ns = await startNatsServer();
  servers.push(ns);
  assert.match(ns.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ns.url, `nats://127.0.0.1:${ns.port}`);
  const info = await readInfo(ns.port);
  assert.ok(info);
  assert.equal(info.jetstream, true);
  assert.ok(existsSync(join(ns.storeDir, 'jetstream')), 'the JetStream store lives in storeDir');

  await ns.stop();
  assert.equal(await readInfo(ns.port), null, 'nothing listens after stop()');

  await ns.restart();
  const again = await readInfo(ns.port);
  assert.ok(again);
  assert.equal(again.jetstream, true);
  assert.equal(again.port, ns.port);
});

test('two servers get different ports; jetstream can be turned off', async () => {
  const a = await startNatsServer({ jetstream: false });
  const b = await startNatsServer({ jetstream: false });
  servers.push(a, b);
  assert.notEqual(a.port, b.port);
  const info = await readInfo(a.port);
  assert.ok(info);
  assert.notEqual(info.jetstream, true);
});
