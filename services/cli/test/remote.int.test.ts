/** apply / get / delete against a running admin API (memory bus) and straight against a real nats-server. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AdminApi, startAdminApi } from '@portico/admin-api';
import { type ConfigBus, createMemoryBus } from '@portico/bus';
import { createLogger, Registry } from '@portico/observability';
import { type NatsServer, startNatsServer } from '@portico/testkit';
import { parse } from 'yaml';
import { portico } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-cli-int-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = join(dir, 'config.yaml');
writeFileSync(
  CONFIG,
  `apiVersion: portico.dev/v1
kind: Service
metadata: {name: echo}
spec:
  endpoints: [{address: 127.0.0.1, port: 8081}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules: [{matches: [{path: {value: /demo}}], backendRefs: [{name: echo}]}]
`,
);
const CHANGED = join(dir, 'changed.yaml');
writeFileSync(
  CHANGED,
  `apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules: [{matches: [{path: {value: /changed}}], backendRefs: [{name: echo}]}]
`,
);
const INVALID = join(dir, 'invalid.yaml');
writeFileSync(
  INVALID,
  `apiVersion: portico.dev/v1
kind: Route
metadata: {name: fresh}
spec:
  rules: [{backendRefs: [{name: echo}]}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: other}
spec:
  rules: [{backendRefs: [{name: echo, port: 99999}]}]
`,
);

/** The same scenario through either door. */
function scenario(flags: () => string[]) {
  test('apply creates, a second apply is unchanged, an edit is configured', async () => {
    const first = await portico(['apply', '-f', CONFIG, ...flags()]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'service/echo created\nroute/demo created\n');
    const second = await portico(['apply', '-f', CONFIG, ...flags()]);
    assert.equal(second.stdout, 'service/echo unchanged\nroute/demo unchanged\n');
    const third = await portico(['apply', '-f', CONFIG, '-f', CHANGED, ...flags()]);
    // The same route twice in one apply is refused before anything is sent.
    assert.equal(third.code, 1);
    assert.match(third.stderr, /Route\/demo appears more than once/);
    const edit = await portico(['apply', '-f', CHANGED, ...flags()]);
    assert.equal(edit.stdout, 'route/demo configured\n');
  });

  test('an invalid file writes nothing and exits 1', async () => {
    const res = await portico(['apply', '-f', INVALID, ...flags()]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /invalid\.yaml#1 \(Route\/other\) spec\.rules\[0\]\.backendRefs\[0\]\.port: /);
    assert.match(res.stderr, /nothing applied/);
    const get = await portico(['get', 'route', 'fresh', ...flags()]);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /Route "fresh" not found/);
  });

  test('get: table, one as yaml (re-appliable), list as json', async () => {
    const tableRes = await portico(['get', 'routes', ...flags()]);
    assert.equal(tableRes.code, 0, tableRes.stderr);
    const lines = tableRes.stdout.trim().split('\n');
    assert.match(lines[0]!, /^KIND\s+NAME\s+AGE\s+SUMMARY$/);
    assert.match(lines[1]!, /^Route\s+demo\s+\d+s\s+hosts=\* rules=1 backends=echo$/);

    const yamlRes = await portico(['get', 'service', 'echo', '-o', 'yaml', ...flags()]);
    const doc = parse(yamlRes.stdout);
    assert.equal(doc.kind, 'Service');
    assert.equal(doc.spec.endpoints[0].port, 8081);
    const again = join(dir, 'again.yaml');
    writeFileSync(again, yamlRes.stdout);
    assert.equal((await portico(['apply', '-f', again, ...flags()])).stdout, 'service/echo unchanged\n');

    const jsonRes = await portico(['get', 'routes', '-o', 'json', ...flags()]);
    const items = JSON.parse(jsonRes.stdout);
    assert.deepEqual(
      items.map((r: { metadata: { name: string } }) => r.metadata.name),
      ['demo'],
    );
    assert.equal(items[0].spec.rules[0].matches[0].path.value, '/changed');
  });

  test('delete removes; deleting again exits 1 naming it', async () => {
    const del = await portico(['delete', 'route', 'demo', ...flags()]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, 'route/demo deleted\n');
    const again = await portico(['delete', 'routes', 'demo', ...flags()]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Route "demo" not found/);
    const empty = await portico(['get', 'routes', ...flags()]);
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /no routes found/);
  });
}

describe('through the admin API (--server)', () => {
  let bus: ConfigBus;
  let api: AdminApi;
  before(async () => {
    bus = createMemoryBus();
    api = await startAdminApi({
      bus,
      port: 0,
      registry: new Registry(),
      isReady: () => true,
      logger: createLogger({ level: 'silent' }),
    });
  });
  after(async () => {
    await api.close();
    await bus.close();
  });
  scenario(() => ['--server', `http://127.0.0.1:${api.port}`]);
});

describe('straight to NATS (--nats)', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await nats.stop();
  });
  scenario(() => ['--nats', nats.url]);

  test('PORTICO_NATS_URL is used when no --server or --nats is given', async () => {
    const res = await portico(['apply', '-f', CHANGED], { PORTICO_NATS_URL: nats.url });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'route/demo created\n');
  });
});
