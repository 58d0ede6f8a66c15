import { after, before } from 'node:test';
import { type NatsServer, startNatsServer } from '@portico/testkit';
import { type ConfigBus, createNatsBus } from '../src/index.ts';
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
open.sameStore = (bus) => createNatsBus({ servers: ns.url, bucketPrefix: prefixes.get(bus)! });

busContract('nats', open);
