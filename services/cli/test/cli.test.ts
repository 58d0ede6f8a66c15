import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { configJsonSchema, type Resource } from '@portico/config';
import { freePort } from '@portico/testkit';
import { age, summary, table } from '../src/commands/config-commands.ts';
import { portico } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = `apiVersion: portico.dev/v1
kind: Service
metadata: {name: echo}
spec:
  endpoints: [{address: 127.0.0.1, port: 8081}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: demo}
spec:
  rules: [{backendRefs: [{name: echo}]}]
`;

test('--help lists the commands; a command has its own help', async () => {
  const main = await portico(['--help']);
  assert.equal(main.code, 0);
  for (const cmd of ['standalone', 'front-proxy', 'validate', 'apply', 'get', 'delete', 'schema'])
    assert.match(main.stdout, new RegExp(`\\n  ${cmd} `), cmd);
  const apply = await portico(['apply', '--help']);
  assert.equal(apply.code, 0);
  assert.match(apply.stdout, /^Usage: portico apply -f FILE/);
  assert.match((await portico(['help', 'get'])).stdout, /^Usage: portico get <kind>/);
});

test('no command prints help and exits 2; an unknown command or flag exits 2 with a hint', async () => {
  const none = await portico([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Usage: portico <command>/);
  const unknown = await portico(['deploy']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "deploy"/);
  const flag = await portico(['validate', '--bogus']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--bogus'/);
  assert.match(flag.stderr, /portico validate --help/);
});

test('--version prints the package version', async () => {
  const res = await portico(['--version']);
  assert.equal(res.code, 0);
  assert.match(res.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('validate: a good file exits 0 with a one-line summary', async () => {
  const res = await portico(['validate', '-f', file('good.yaml', GOOD)]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'valid: 2 resources in 1 file (1 Service, 1 Route)\n');
});

test('validate: each error as <file>#<doc> (<Kind>/<name>) <path>: <reason>, exit 1', async () => {
  const bad = file(
    'bad.yaml',
    `${GOOD}---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: broken}
spec:
  rules:
    - matches: [{path: {type: Exact, value: /a}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}
      backendRefs: [{name: echo, weight: -1}]
      colour: blue
`,
  );
  const other = file('other.yaml', 'apiVersion: portico.dev/v1\nkind: Widget\nmetadata: {name: w}\n');
  const res = await portico(['validate', '-f', bad, '--file', other]);
  assert.equal(res.code, 1);
  assert.equal(res.stdout, '');
  const lines = res.stderr.trim().split('\n');
  assert.ok(
    lines.includes(`${bad}#2 (Route/broken) spec.rules[0].backendRefs[0].weight: Too small: expected number to be >=0`),
    res.stderr,
  );
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}#2 (Route/broken) spec.rules[0]: `) && /colour/.test(l)),
    res.stderr,
  );
  assert.ok(lines.some((l) => l.startsWith(`${other}#0 (Widget/w) kind: must be one of Route, Service, Certificate`)));
  assert.match(lines.at(-1)!, /^\d+ errors in 2 files$/);
});

test('validate: a YAML syntax error names the file and document; other documents still checked', async () => {
  const broken = file('syntax.yaml', `${GOOD}---\nkind: Route\nmetadata: {name: [\n`);
  const res = await portico(['validate', '-f', broken]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}#2: `, 'm'));
});

test('validate: a directory means its yaml/json files; a duplicate resource is an error', async () => {
  const sub = mkdtempSync(join(dir, 'dir-'));
  writeFileSync(join(sub, 'a.yaml'), GOOD);
  writeFileSync(
    join(sub, 'b.json'),
    JSON.stringify({ apiVersion: 'portico.dev/v1', kind: 'Service', metadata: { name: 'x' }, spec: {} }),
  );
  writeFileSync(join(sub, 'ignored.txt'), 'not config');
  const ok = await portico(['validate', '-f', sub]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /3 resources in 2 files/);
  writeFileSync(join(sub, 'c.yaml'), GOOD);
  const dup = await portico(['validate', '-f', sub]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /metadata\.name: Service\/echo appears more than once/);
});

test('validate: a missing file or no -f is an error', async () => {
  const missing = await portico(['validate', '-f', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.yaml: ENOENT/);
  const none = await portico(['validate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /-f FILE is required/);
});

test('the shipped example config is valid', async () => {
  const res = await portico(['validate', '-f', 'deploy/example.yaml']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^valid: \d+ resources? in 1 file \(\d+ Route/);
});

test('schema prints the JSON Schema', async () => {
  const res = await portico(['schema']);
  assert.equal(res.code, 0);
  assert.deepEqual(JSON.parse(res.stdout), JSON.parse(JSON.stringify(configJsonSchema())));
});

test('get and delete check the kind and arguments before any network call', async () => {
  const kind = await portico(['get', 'widgets', '--server', 'http://127.0.0.1:1']);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /unknown kind "widgets"; known: routes, services, certificates/);
  const output = await portico(['get', 'routes', '-o', 'xml']);
  assert.equal(output.code, 2);
  assert.match(output.stderr, /-o must be table, yaml or json/);
  assert.equal((await portico(['delete', 'routes'])).code, 2);
  const both = await portico(['get', 'routes', '--server', 'http://x', '--nats', 'nats://y']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --server or --nats/);
  const badUrl = await portico(['get', 'routes', '--server', 'ftp://x']);
  assert.match(badUrl.stderr, /--server must be an http/);
});

test('an unreachable server is a clear error, exit 1', async () => {
  const port = await freePort(); // nothing listens there
  const res = await portico(['get', 'routes', '--server', `http://127.0.0.1:${port}`]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
});

test('standalone refuses a bad port before starting anything', async () => {
  const res = await portico(['standalone', '--proxy-port', 'eighty']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--proxy-port must be a port number/);
  const fp = await portico(['front-proxy']);
  assert.equal(fp.code, 2);
  assert.match(fp.stderr, /front-proxy needs --nats URL/);
});

test('--workers is refused in a mode that runs no proxy', async () => {
  const res = await portico(['discovery-syncer', '--workers', '2']);
  assert.equal(res.code, 2);
  assert.equal(
    res.stderr,
    'portico discovery-syncer: --workers sets how many processes run the proxy; discovery-syncer runs no proxy\n' +
      'Run "portico discovery-syncer --help" for usage.\n',
  );
});

test('table, age and summary', () => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  assert.equal(age('2026-01-01T00:59:30Z', now), '30s');
  assert.equal(age('2026-01-01T00:50:00Z', now), '10m');
  assert.equal(age('2025-12-31T20:00:00Z', now), '5h');
  assert.equal(age('2025-12-20T01:00:00Z', now), '12d');
  assert.equal(age(undefined, now), '-');
  const route = {
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name: 'demo', creationTimestamp: '2026-01-01T00:59:00Z' },
    spec: { hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'echo', weight: 1 }] }] },
  } as Resource;
  const service = {
    apiVersion: 'portico.dev/v1',
    kind: 'Service',
    metadata: { name: 'echo' },
    spec: {
      protocol: 'http',
      endpoints: [{ address: '10.0.0.1', port: 80, weight: 1 }],
      loadBalancer: { type: 'RoundRobin' },
    },
  } as Resource;
  assert.equal(summary(route), 'hosts=a.example.com rules=1 backends=echo');
  assert.equal(summary(service), 'protocol=http endpoints=10.0.0.1:80');
  assert.deepEqual(table([route, service], now), [
    'KIND      NAME   AGE   SUMMARY',
    'Route     demo   60s   hosts=a.example.com rules=1 backends=echo',
    'Service   echo   -     protocol=http endpoints=10.0.0.1:80',
  ]);
});
