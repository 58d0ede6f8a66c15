/** `portico standalone` as a user runs it: the example config, real sockets, a signal to stop. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startEchoBackend, startNatsServer, waitUntil } from '@portico/testkit';
import { parseAllDocuments } from 'yaml';
import { BIN, portico, REPO, start } from './helpers.ts';

const ports = ['--proxy-port', '0', '--admin-port', '0'];

const dir = mkdtempSync(join(tmpdir(), 'portico-standalone-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('standalone serves the example config on any admin port, answers the admin API, and stops on SIGTERM', async () => {
  // The example needs nothing on the admin port (its demo backend is the proxy's built-in Echo), so any port works.
  const example = join(REPO, 'deploy/example.yaml');
  const echoRoute = parseAllDocuments(readFileSync(example, 'utf8'))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> })
    .find((d) => d.kind === 'Route' && d.metadata.name === 'echo');
  const rewrite = JSON.stringify(echoRoute).match(/"replacePrefixMatch":"([^"]*)"/)?.[1];
  assert.ok(rewrite !== undefined, 'the example rewrites /echo with ReplacePrefixMatch');

  const { child, match, exited } = await start(
    ['standalone', '--proxy-port', '0', '--admin-port', '0', '--log-level', 'warn'],
    /portico listening: proxy http:\/\/([\d.]+):(\d+) admin http:\/\/([\d.]+):(\d+)/,
    { PORTICO_CONFIG: example }, // from the environment, as `npm start` users may set it
  );
  try {
    assert.equal(match[1], '0.0.0.0', 'the banner names the address bound: every interface');
    assert.equal(match[3], '127.0.0.1');
    const proxy = `http://127.0.0.1:${match[2]}`;
    const admin = `http://127.0.0.1:${match[4]}`;

    const echo = await fetch(`${proxy}/echo/hello?x=1`, {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers.get('x-portico-example'), 'echo');
    const seen = (await echo.json()) as {
      method: string;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
    };
    // The request head the backend would receive: the rewritten path, the forwarding fields, a new span id.
    assert.equal(seen.method, 'GET');
    assert.equal(seen.path, `${rewrite === '/' ? '' : rewrite}/hello`);
    assert.deepEqual(seen.query, { x: '1' });
    assert.ok(seen.headers['x-forwarded-for'], 'x-forwarded-for');
    assert.ok(seen.headers['x-request-id'], 'x-request-id');
    assert.match(seen.headers.via ?? '', /portico/);
    assert.match(seen.headers.traceparent ?? '', /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(seen.headers.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');

    const old = await fetch(`${proxy}/old`, { redirect: 'manual' });
    assert.equal(old.status, 301);
    assert.match(old.headers.get('location') ?? '', /\/echo\/moved$/);
    // The public port does not lead to the admin API.
    assert.equal((await fetch(`${proxy}/api/v1/routes`)).status, 404);

    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /portico_http_requests_total\{route="echo"/);
    assert.match(metrics, /portico_config_reloads_total [1-9]/);

    const got = await portico(['get', 'routes', '--server', admin]);
    assert.match(got.stdout, /Route\s+echo/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

test('on SIGTERM the proxy drains first: /readyz says 503 and /metrics answers until the last request is done', async () => {
  const slow = await startEchoBackend('slow');
  const config = join(dir, 'slow.yaml');
  writeFileSync(
    config,
    `apiVersion: portico.dev/v1
kind: Service
metadata: {name: slow}
spec: {endpoints: [{address: 127.0.0.1, port: ${slow.port}}]}
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: slow}
spec: {rules: [{backendRefs: [{name: slow}]}]}
`,
  );
  const { child, match, output, exited } = await start(
    ['standalone', '--config', config, '--proxy-port', '0', '--admin-port', '0', '--log-level', 'warn'],
    /portico listening: proxy http:\/\/[\d.]+:(\d+) admin http:\/\/127\.0\.0\.1:(\d+)/,
  );
  const admin = `http://127.0.0.1:${match[2]}`;
  let stopped = false;
  try {
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    const inFlight = fetch(`http://127.0.0.1:${match[1]}/drain?delay=1500`);
    await waitUntil('the backend has the request', () => slow.requests.length === 1);
    stopped = child.kill('SIGTERM');
    await waitUntil('the shutdown began', () => output().includes('portico: SIGTERM, shutting down'));
    const readyz = await fetch(`${admin}/readyz`);
    assert.equal(readyz.status, 503);
    const metrics = await fetch(`${admin}/metrics`);
    assert.equal(metrics.status, 200);
    await metrics.text();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { backend: string }).backend, 'slow');
  } finally {
    // A second signal would mean "exit now".
    if (!stopped) child.kill('SIGTERM');
    await slow.close();
  }
  assert.equal(await exited, 0);
});

test('a SIGTERM while starting is handled, not fatal: the handlers are in place before the banner can be', async () => {
  // A bus that accepts the connection and never speaks holds start-up in its connect; the signal arrives there.
  const silent = createServer();
  const held = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const child = spawn(
    process.execPath,
    [BIN, 'front-proxy', '--nats', `nats://127.0.0.1:${(silent.address() as AddressInfo).port}`, ...ports],
    {
      cwd: REPO,
      env: { ...process.env, PORTICO_NATS_URL: '', PORTICO_CONFIG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await held;
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit', { signal: AbortSignal.timeout(15_000) })) as [
      number | null,
      string | null,
    ];
    assert.equal(signal, null, `killed by ${signal}: no handler was installed yet\n${stderr}`);
    assert.match(stderr, /portico: SIGTERM, shutting down/);
    // The bus never answered, so the start fails as it would have anyway, says why, and the process ends.
    assert.match(stderr, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
    assert.equal(code, 1, stderr);
  } finally {
    child.kill('SIGKILL');
    silent.close();
  }
});

test('standalone refuses to start with an invalid config, naming the error', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: portico.dev/v1\nkind: Route\nmetadata: {name: x}\nspec: {rules: []}\n');
  const res = await portico(['standalone', '--config', bad, '--proxy-port', '0', '--admin-port', '0']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /bad\.yaml#0 \(Route\/x\) spec\.rules: /);
  assert.match(res.stderr, /not starting/);
});

test('front-proxy --nats serves what `portico apply --nats` wrote, and picks up changes', async () => {
  const nats = await startNatsServer();
  try {
    const config = join(dir, 'redirect.yaml');
    const write = (target: string) =>
      writeFileSync(
        config,
        `apiVersion: portico.dev/v1
kind: Route
metadata: {name: moved}
spec:
  rules:
    - matches: [{path: {type: Exact, value: /moved}}]
      filters: [{type: RequestRedirect, requestRedirect: {statusCode: 308, path: {type: ReplaceFullPath, replaceFullPath: ${target}}}}]
`,
      );
    write('/first');
    assert.equal((await portico(['apply', '-f', config, '--nats', nats.url])).stdout, 'route/moved created\n');
    const { child, match, exited } = await start(
      ['front-proxy', '--proxy-port', '0', '--admin-port', '0', '--log-level', 'warn'],
      /portico listening: proxy http:\/\/[\d.]+:(\d+) admin http:\/\/127\.0\.0\.1:(\d+)/,
      { PORTICO_NATS_URL: nats.url },
    );
    try {
      const proxy = `http://127.0.0.1:${match[1]}`;
      const first = await fetch(`${proxy}/moved`, { redirect: 'manual' });
      assert.equal(first.status, 308);
      assert.match(first.headers.get('location') ?? '', /\/first$/);
      write('/second');
      assert.equal((await portico(['apply', '-f', config, '--nats', nats.url])).stdout, 'route/moved configured\n');
      await waitUntil('the proxy redirects to the applied change', async () => {
        const res = await fetch(`${proxy}/moved`, { redirect: 'manual' });
        return res.headers.get('location')?.endsWith('/second');
      });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  } finally {
    await nats.stop();
  }
});
