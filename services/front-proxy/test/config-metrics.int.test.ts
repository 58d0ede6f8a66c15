/**
 * The config metrics from their real publisher: the front proxy applying snapshots. A snapshot that fails to
 * compile (here: a policy source that throws) is counted as rejected, logged, and the running snapshot keeps
 * serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { type Resource, validateResource } from '@portico/config';
import { NO_POLICIES } from '@portico/dataplane';
import { subscribeDiagnostics } from '@portico/diagnostics';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import { waitUntil } from '@portico/testkit';
import { type FrontProxy, startFrontProxy } from '../src/index.ts';

const bus = createMemoryBus();
const registry = createMetricsRegistry();
const metrics = new ProxyMetrics(registry);
const logs: Record<string, unknown>[] = [];
const logger = createLogger({
  level: 'info',
  destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
});
let unsubscribe: () => void;
let proxy: FrontProxy;
/** The policy source throws while this is set: a compile failure of the whole snapshot. */
let breakPolicies = false;

function resource(input: Record<string, unknown>): Resource {
  const r = validateResource({ apiVersion: 'portico.dev/v1', ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.resource;
}

const route = (name: string, path: string) =>
  resource({
    kind: 'Route',
    metadata: { name },
    spec: { rules: [{ matches: [{ path: { value: path } }], backendRefs: [{ kind: 'Echo', name: 'echo' }] }] },
  });

async function metric(name: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

before(async () => {
  unsubscribe = subscribeDiagnostics({ logger, metrics });
  await bus.put(route('one', '/one'));
  proxy = await startFrontProxy({
    bus,
    port: 0,
    host: '127.0.0.1',
    logger,
    metrics,
    accessLog: false,
    policies: () => {
      if (breakPolicies) throw new Error('policy store unreadable');
      return NO_POLICIES;
    },
  });
});

after(async () => {
  await proxy.close();
  unsubscribe();
});

test('each applied snapshot sets portico_config_revision and counts a reload', async () => {
  const reloads = (await metric('portico_config_reloads_total')) ?? 0;
  assert.equal(await metric('portico_config_revision'), proxy.revision());
  await bus.put(route('two', '/two'));
  await waitUntil(
    'the second route is live',
    async () => (await fetch(`http://127.0.0.1:${proxy.port}/two`)).status === 200,
  );
  assert.equal(await metric('portico_config_revision'), proxy.revision());
  assert.equal(await metric('portico_config_reloads_total'), reloads + 1);
});

test('a snapshot that fails to compile is counted and logged; the running one keeps serving', async () => {
  const live = proxy.revision();
  breakPolicies = true;
  try {
    await bus.put(route('three', '/three'));
    await waitUntil('the rejection is counted', async () =>
      (await metric('portico_config_rejected_total{kind="snapshot"}')) === 1 ? true : undefined,
    );
    assert.equal(proxy.revision(), live);
    assert.equal(await metric('portico_config_revision'), live);
    assert.equal((await fetch(`http://127.0.0.1:${proxy.port}/two`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${proxy.port}/three`)).status, 404);
    assert.ok(logs.some((l) => l.msg === 'config rejected; previous config stays live'));
  } finally {
    breakPolicies = false;
  }
  await bus.put(route('four', '/four'));
  await waitUntil(
    'the next good state is live',
    async () => (await fetch(`http://127.0.0.1:${proxy.port}/three`)).status === 200,
  );
});
