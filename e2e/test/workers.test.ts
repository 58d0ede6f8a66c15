/**
 * `--workers N`: worker processes share the port, follow config changes, are replaced when they die, stop on one
 * SIGTERM, and a port conflict fails fast. Standalone with workers still runs the discovery syncer (in the
 * primary); a mode without a proxy refuses --workers.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import {
  type Backend,
  type EchoReply,
  PORTICO_BIN,
  type PorticoProcess,
  startDnsmasq,
  startEchoBackend,
  startNatsServer,
  startPortico,
  waitUntil,
} from '@portico/testkit';

let echo: Backend, portico: PorticoProcess;

const route = (value: string) => ({
  apiVersion: 'portico.dev/v1',
  kind: 'Route',
  metadata: { name: 'r' },
  spec: {
    rules: [
      {
        filters: [
          { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-generation', value }] } },
        ],
        backendRefs: [{ name: 'echo' }],
      },
    ],
  },
});

before(async () => {
  echo = await startEchoBackend('echo');
  portico = await startPortico({
    args: ['--log-level', 'warn', '--workers', '2'],
    config: [
      JSON.stringify({
        apiVersion: 'portico.dev/v1',
        kind: 'Service',
        metadata: { name: 'echo' },
        spec: { endpoints: [{ address: '127.0.0.1', port: echo.port }] },
      }),
      JSON.stringify(route('1')),
    ].join('\n---\n'),
  });
});

after(async () => {
  await portico?.stop();
  await echo?.close();
});

function workerPids(): number[] {
  const out = execFileSync('pgrep', ['-P', String(portico.child.pid)], { encoding: 'utf8' });
  return out.trim().split('\n').filter(Boolean).map(Number);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
}

/** Resolves with how the process ended, or with 'timeout' after `ms` (the caller fails on that). */
function exitWithin(
  child: PorticoProcess['child'],
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Requests sent through the shared portico, all of which its route answers with 2xx. */
let sent = 0;

async function generationsSeen(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  // New connections each time (no keep-alive), so the kernel spreads them over both workers.
  for (let i = 0; i < n; i++, sent++) {
    const res = await fetch(`${portico.proxyUrl}/x`, { headers: { connection: 'close' } });
    await res.text();
    seen.add(res.headers.get('x-generation') ?? '');
  }
  return seen;
}

test('two workers serve, and both take a config change', async () => {
  assert.equal(workerPids().length, 2);
  assert.deepEqual(await generationsSeen(20), new Set(['1']));
  const res = await fetch(`${portico.adminUrl}/api/v1/routes/r`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(route('2')),
  });
  assert.ok(res.ok);
  await waitUntil('ten requests in a row answered by the new route', async () => {
    const seen = await generationsSeen(10);
    return seen.size === 1 && seen.has('2');
  });
  assert.deepEqual(await generationsSeen(40), new Set(['2']));
  const metrics = await (await fetch(`${portico.adminUrl}/metrics`)).text();
  const total = [
    ...metrics.matchAll(/^portico_http_requests_total\{route="r",backend="echo",code_class="2xx"\} (\d+)/gm),
  ];
  assert.equal(Number(total[0]?.[1]), sent, 'the primary sums both workers');
});

test('a killed worker is replaced and traffic keeps flowing', async () => {
  const [victim] = workerPids();
  process.kill(victim!, 'SIGKILL');
  // Connections the dead worker held (or had in its accept queue) die with it; once it is gone, the kernel
  // sends every new connection to the survivor.
  await waitUntil('the killed worker is gone', () => !workerPids().includes(victim!), { timeoutMs: 2_000 });
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${portico.proxyUrl}/x`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
    await res.text();
  }
  const pids = await waitUntil(
    'two workers again, the killed one not among them',
    () => {
      const now = workerPids();
      return now.length === 2 && !now.includes(victim!) && now;
    },
    { timeoutMs: 5_000, everyMs: 100 },
  );
  assert.equal(pids.length, 2);
});

test('one SIGTERM stops the primary and every worker, with exit code 0', async () => {
  const pids = workerPids();
  assert.equal(pids.length, 2);
  // No connection is open, so nothing has to drain: the whole tree is gone in well under the 10 s drain time.
  const started = Date.now();
  portico.child.kill('SIGTERM');
  const exit = await exitWithin(portico.child, 8_000);
  assert.notEqual(exit, 'timeout', `still running 8 s after one SIGTERM; output:\n${portico.output()}`);
  assert.deepEqual(exit, { code: 0, signal: null }, 'exited by itself after SIGTERM, not killed');
  assert.deepEqual(
    pids.filter((pid) => isAlive(pid)),
    [],
    'no worker outlives the primary',
  );
  assert.match(portico.output(), /portico: SIGTERM, shutting down/);
  assert.ok(Date.now() - started < 8_000);
});

test('a port conflict with workers fails fast: one line naming the flag, exit 1, no worker left', async () => {
  const busy: Server = createServer();
  busy.listen(0, '0.0.0.0');
  await once(busy, 'listening');
  const port = (busy.address() as { port: number }).port;
  try {
    const child = spawn(
      process.execPath,
      [PORTICO_BIN, 'standalone', '--workers', '2', '--proxy-port', String(port), '--admin-port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORTICO_CONFIG: '', PORTICO_NATS_URL: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = await exitWithin(child, 10_000);
    if (exit === 'timeout') child.kill('SIGKILL');
    assert.notEqual(exit, 'timeout', `still running 10 s after start; output:\n${stdout}${stderr}`);
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(
      stderr.trim(),
      `portico standalone: port ${port} is in use (proxy); choose another with --proxy-port`,
      'one line, no stack trace',
    );
    assert.doesNotMatch(stdout, /portico listening/);
    // Workers run with the primary's argv: none may be left holding anything.
    const left = spawnSync('pgrep', ['-f', '--', `--proxy-port ${port} `], { encoding: 'utf8' });
    assert.equal(left.status, 1, `pgrep: no process matched (status 1); got ${left.status} ${left.stdout}`);
  } finally {
    busy.close();
  }
});

test('a SIGTERM while a replacement worker is still starting stops that worker too', async () => {
  const p = await startPortico({ args: ['--log-level', 'warn', '--workers', '2'] });
  const children = () =>
    execFileSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  try {
    const first = children();
    process.kill(first[0]!, 'SIGKILL');
    // The moment the primary has forked the replacement (long before it listens), stop everything.
    const replacement = await waitUntil(
      'a replacement was forked',
      () =>
        spawnSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')
          .map(Number)
          .find((pid) => pid > 0 && !first.includes(pid)),
      { timeoutMs: 2_500, everyMs: 5 },
    );
    p.child.kill('SIGTERM');
    const exit = await exitWithin(p.child, 8_000);
    assert.notEqual(exit, 'timeout', `still running 8 s after one SIGTERM; output:\n${p.output()}`);
    assert.deepEqual(exit, { code: 0, signal: null });
    await waitUntil('the replacement that was still starting is gone', () => !isAlive(replacement), {
      everyMs: 100,
    });
    assert.equal(isAlive(first[1]!), false, 'the other worker is gone');
  } finally {
    await p.stop();
  }
});

test('standalone --workers 2 runs the discovery syncer: a service found in a DNS Registry answers through the workers', async () => {
  const found = await startEchoBackend('found');
  const dns = await startDnsmasq({ records: { hosts: { 'found.test': ['127.0.0.1'] } } });
  const p = await startPortico({
    args: ['--log-level', 'warn', '--workers', '2'],
    config: `
apiVersion: portico.dev/v1
kind: Registry
metadata: {name: dns}
spec:
  type: dns
  addresses: ["${dns.address}"]
  names: [{name: found, host: found.test, type: A, port: ${found.port}}]
---
apiVersion: portico.dev/v1
kind: Route
metadata: {name: found}
spec:
  rules:
    - matches: [{path: {value: /found}}]
      backendRefs: [{registry: dns, name: found}]
`,
  });
  try {
    // The syncer resolves the name and writes the endpoints; the primary passes them on to the workers.
    await waitUntil(
      'the discovered service answers through the proxy',
      async () => {
        const res = await fetch(`${p.proxyUrl}/found`, { headers: { connection: 'close' } });
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeoutMs: 10_000, everyMs: 100 },
    );
    // New connections each time, so both workers answer some of them.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${p.proxyUrl}/found/${i}`, { headers: { connection: 'close' } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as EchoReply;
      assert.equal(body.backend, 'found');
      assert.equal(body.path, `/found/${i}`);
    }
    assert.ok(found.requests.length >= 20);
    // The syncer runs in the primary: its own metrics are on /metrics beside the workers' aggregate.
    const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
    assert.match(metrics, /^portico_discovery_registry_up\{registry="dns",type="dns"\} 1$/m);
    assert.match(metrics, /^portico_http_requests_total\{[^}]*route="found"[^}]*\} \d+$/m);
  } finally {
    await p.stop();
    await dns.stop();
    await found.close();
  }
});

test('discovery-syncer --workers is a usage error: it runs no proxy', async () => {
  const nats = await startNatsServer();
  try {
    const res = spawnSync(
      process.execPath,
      [PORTICO_BIN, 'discovery-syncer', '--workers', '2', '--nats', nats.url, '--admin-port', '0'],
      { encoding: 'utf8', timeout: 10_000, env: { ...process.env, PORTICO_CONFIG: '', PORTICO_NATS_URL: '' } },
    );
    assert.equal(res.status, 2, res.stderr);
    assert.deepEqual(res.stderr.trimEnd().split('\n'), [
      'portico discovery-syncer: --workers sets how many processes run the proxy; discovery-syncer runs no proxy',
      'Run "portico discovery-syncer --help" for usage.',
    ]);
    assert.equal(res.stdout, '');
  } finally {
    await nats.stop();
  }
});
