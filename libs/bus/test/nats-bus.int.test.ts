import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type NatsServer, startNatsServer } from '@portico/testkit';
import { type ConfigBus, createNatsBus, NatsBus } from '../src/index.ts';
import { type BusOpener, busContract } from './contract.ts';

let ns: NatsServer;
before(async () => {
  ns = await startNatsServer();
});
after(async () => {
  await ns?.stop();
});

// Each test gets its own buckets on the shared server through its own prefix.
let n = 0;
const prefixes = new WeakMap<ConfigBus, string>();
const open: BusOpener = async () => {
  const bucketPrefix = `contract${++n}`;
  const bus = await createNatsBus({ servers: ns.url, bucketPrefix });
  prefixes.set(bus, bucketPrefix);
  return bus;
};
open.sameStore = (bus) => NatsBus.connect({ servers: ns.url, bucketPrefix: prefixes.get(bus)! });

busContract('nats', open);

test('nats: createNatsBus gives a NatsBus', async () => {
  const bus = await open();
  try {
    assert.ok(bus instanceof NatsBus);
  } finally {
    await bus.close();
  }
});
