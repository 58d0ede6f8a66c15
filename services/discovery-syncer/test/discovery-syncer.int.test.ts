/**
 * The discovery-syncer service on an in-memory bus against a real DNS server (dnsmasq, via @portico/testkit): a DNS
 * Registry applied to the bus becomes EndpointSets in the bus, an outage keeps them, close() stops the writes.
 * Each test has its own bus and its own dnsmasq.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type ConfigBus, createMemoryBus } from '@portico/bus';
import { type EndpointSet, endpointSetName, validateResource } from '@portico/config';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { type DnsmasqServer, type DnsRecords, startDnsmasq, waitUntil } from '@portico/testkit';
import { discoverySyncerService, type RunningDiscoverySyncer } from '../src/index.ts';

const WAIT = { timeoutMs: 10_000 };

async function applyRegistry(bus: ConfigBus, name: string, dns: DnsmasqServer, hosts: string[]): Promise<void> {
  const parsed = validateResource({
    apiVersion: 'portico.dev/v1',
    kind: 'Registry',
    metadata: { name },
    spec: {
      type: 'dns',
      addresses: [dns.address],
      minTtl: '100ms',
      names: hosts.map((host) => ({ name: host.split('.')[0], host, port: 8080 })),
    },
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  await bus.put(parsed.resource);
}

/** The EndpointSet the syncer keeps for one service of one registry, as the bus holds it. */
function endpointSet(bus: ConfigBus, registry: string, service: string): Promise<EndpointSet | undefined> {
  return bus.get('EndpointSet', endpointSetName(registry, service));
}

const addresses = (set: EndpointSet | undefined) => set?.spec.endpoints.map((e) => `${e.address}:${e.port}`).sort();

describe('discovery-syncer service (dnsmasq, memory bus)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(records: DnsRecords) {
    const dns = await startDnsmasq({ records });
    cleanups.push(() => dns.stop());
    const bus = createMemoryBus();
    cleanups.push(() => bus.close());
    return { dns, bus };
  }

  async function start(bus: ConfigBus): Promise<RunningDiscoverySyncer> {
    const registry = createMetricsRegistry();
    const logger = createLogger({ level: 'silent' });
    const running = await discoverySyncerService.start({ bus, logger, registry, metrics: new ProxyMetrics(registry) });
    cleanups.push(() => running.close());
    return running;
  }

  test('is named discovery-syncer, ready once started, and writes the sets of Registries read at start', async () => {
    const { dns, bus } = await setup({ hosts: { 'web.test': ['127.0.1.1', '127.0.1.2'] } });
    await applyRegistry(bus, 'dns-a', dns, ['web.test']);
    assert.equal(discoverySyncerService.name, 'discovery-syncer');
    const running = await start(bus);
    assert.equal(running.ready(), true);

    const set = await waitUntil('the EndpointSet of web', () => endpointSet(bus, 'dns-a', 'web'), WAIT);
    assert.deepEqual(addresses(set), ['127.0.1.1:8080', '127.0.1.2:8080']);
    assert.equal(set.spec.registry, 'dns-a');
    assert.equal(set.spec.service, 'web');
    assert.equal(set.spec.stale, false);
    assert.equal(set.metadata.labels?.['portico.dev/registry'], 'dns-a');
  });

  test('a Registry applied while running is synced, and a record change reaches its EndpointSet', async () => {
    const records = { hosts: { 'api.test': ['127.0.2.1'] } };
    const { dns, bus } = await setup(records);
    await start(bus);
    assert.deepEqual(await bus.list('EndpointSet'), []);

    await applyRegistry(bus, 'dns-b', dns, ['api.test']);
    const set = await waitUntil('the EndpointSet of api', () => endpointSet(bus, 'dns-b', 'api'), WAIT);
    assert.deepEqual(addresses(set), ['127.0.2.1:8080']);

    await dns.setRecords({ hosts: { 'api.test': ['127.0.2.1', '127.0.2.2'] } });
    await waitUntil(
      'api with the added address',
      async () => addresses(await endpointSet(bus, 'dns-b', 'api'))?.length === 2,
      WAIT,
    );
    assert.deepEqual(addresses(await endpointSet(bus, 'dns-b', 'api')), ['127.0.2.1:8080', '127.0.2.2:8080']);

    await bus.delete('Registry', 'dns-b');
    await waitUntil(
      'the set removed with its Registry',
      async () => (await endpointSet(bus, 'dns-b', 'api')) === undefined,
    );
  });

  test('a registry outage keeps the last EndpointSet, marked stale and never emptied; back, it is fresh', async () => {
    const { dns, bus } = await setup({ hosts: { 'web.test': ['127.0.3.1'] } });
    await applyRegistry(bus, 'dns-c', dns, ['web.test']);
    await start(bus);
    await waitUntil('the EndpointSet of web', () => endpointSet(bus, 'dns-c', 'web'), WAIT);

    // Every version of the set the bus holds from here on.
    const seen: Array<EndpointSet | undefined> = [];
    const watch = await bus.watch((state) => {
      seen.push(state.get('EndpointSet').get(endpointSetName('dns-c', 'web')));
    });
    cleanups.push(async () => watch.stop());

    await dns.stop();
    const stale = await waitUntil(
      'the set marked stale',
      async () => {
        const set = await endpointSet(bus, 'dns-c', 'web');
        return set?.spec.stale === true ? set : undefined;
      },
      WAIT,
    );
    assert.deepEqual(addresses(stale), ['127.0.3.1:8080'], 'the last known endpoints are kept');
    // Lookups keep failing while the resolver is away; none of them may touch the set.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(addresses(await endpointSet(bus, 'dns-c', 'web')), ['127.0.3.1:8080']);

    await dns.start();
    await waitUntil(
      'the set fresh again',
      async () => (await endpointSet(bus, 'dns-c', 'web'))?.spec.stale === false,
      WAIT,
    );
    assert.ok(seen.length > 0);
    for (const set of seen) assert.deepEqual(addresses(set), ['127.0.3.1:8080'], 'never absent, never emptied');
  });

  test('close() turns ready() false and stops writing: later record and Registry changes stay out of the bus', async () => {
    const { dns, bus } = await setup({ hosts: { 'web.test': ['127.0.4.1'] } });
    await applyRegistry(bus, 'dns-d', dns, ['web.test']);
    const running = await start(bus);
    const before = await waitUntil('the EndpointSet of web', () => endpointSet(bus, 'dns-d', 'web'), WAIT);

    await running.close();
    assert.equal(running.ready(), false);
    await running.close(); // idempotent
    await dns.setRecords({ hosts: { 'web.test': ['127.0.4.2'], 'api.test': ['127.0.4.3'] } });
    await applyRegistry(bus, 'dns-e', dns, ['api.test']);
    // Several minTtl periods: a syncer still running would have re-resolved and written by now.
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await endpointSet(bus, 'dns-d', 'web');
    assert.equal(after?.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(addresses(after), ['127.0.4.1:8080']);
    assert.equal(await endpointSet(bus, 'dns-e', 'api'), undefined);
  });
});
