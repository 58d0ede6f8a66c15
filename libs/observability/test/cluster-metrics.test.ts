import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { mergeExpositions } from '../src/index.ts';

test("the primary's families fill what the workers report no sample of, and are added where the workers lack them", async () => {
  const workers = new Registry();
  const primary = new Registry();
  // Declared in both: the workers set the request counter, only the primary sets the registry gauge.
  const served = new Counter({ name: 'served_total', help: 'requests', labelNames: ['route'], registers: [workers] });
  new Gauge({ name: 'registry_up', help: 'registry reachable', labelNames: ['registry'], registers: [workers] });
  new Counter({ name: 'served_total', help: 'requests', labelNames: ['route'], registers: [primary] });
  const up = new Gauge({
    name: 'registry_up',
    help: 'registry reachable',
    labelNames: ['registry'],
    registers: [primary],
  });
  const only = new Gauge({ name: 'primary_only', help: 'primary only', registers: [primary] });
  served.inc({ route: 'a' }, 3);
  up.set({ registry: 'dns' }, 1);
  only.set(7);

  const merged = mergeExpositions(await workers.metrics(), await primary.metrics());
  assert.match(merged, /^served_total\{route="a"\} 3$/m);
  assert.match(merged, /^registry_up\{registry="dns"\} 1$/m);
  assert.match(merged, /^primary_only 7$/m);
  for (const name of ['served_total', 'registry_up', 'primary_only'])
    assert.equal(
      merged.split('\n').filter((l) => l === `# TYPE ${name} ${name === 'served_total' ? 'counter' : 'gauge'}`).length,
      1,
      name,
    );
});
