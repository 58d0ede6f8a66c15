/**
 * `--workers N`: worker processes share the port, follow config changes, are replaced when they die, stop on one
 * SIGTERM, and a port conflict fails fast.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { type Backend, PORTICO_BIN, type PorticoProcess, startEchoBackend, startPortico } from '@portico/testkit';

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

async function generationsSeen(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  // New connections each time (no keep-alive), so the kernel spreads them over both workers.
  for (let i = 0; i < n; i++) {
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
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await generationsSeen(40), new Set(['2']));
  const metrics = await (await fetch(`${portico.adminUrl}/metrics`)).text();
  const total = [
    ...metrics.matchAll(/^portico_http_requests_total\{route="r",backend="echo",code_class="2xx"\} (\d+)/gm),
  ];
  assert.equal(Number(total[0]?.[1]), 60, 'the primary sums both workers');
});

test('a killed worker is replaced and traffic keeps flowing', async () => {
  const [victim] = workerPids();
  process.kill(victim!, 'SIGKILL');
  // Connections the dead worker held (or had in its accept queue) die with it; once it is gone, the kernel
  // sends every new connection to the survivor.
  for (let i = 0; i < 50 && workerPids().includes(victim!); i++) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${portico.proxyUrl}/x`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
    await res.text();
  }
  let pids: number[] = [];
  for (let i = 0; i < 50; i++) {
    pids = workerPids();
    if (pids.length === 2 && !pids.includes(victim!)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(pids.length, 2);
  assert.ok(!pids.includes(victim!));
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
    let replacement: number | undefined;
    for (let i = 0; i < 500 && replacement === undefined; i++) {
      replacement = spawnSync('pgrep', ['-P', String(p.child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .map(Number)
        .find((pid) => pid > 0 && !first.includes(pid));
      if (replacement === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(replacement !== undefined, 'a replacement was forked');
    p.child.kill('SIGTERM');
    const exit = await exitWithin(p.child, 8_000);
    assert.notEqual(exit, 'timeout', `still running 8 s after one SIGTERM; output:\n${p.output()}`);
    assert.deepEqual(exit, { code: 0, signal: null });
    for (let i = 0; i < 50 && isAlive(replacement); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(isAlive(replacement), false, 'the replacement that was still starting is gone');
    assert.equal(isAlive(first[1]!), false, 'the other worker is gone');
  } finally {
    await p.stop();
  }
});
