/** `--workers N`: worker processes share the port, follow config changes, and are replaced when they die. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { type Backend, type PorticoProcess, startEchoBackend, startPortico } from '@portico/testkit';

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
