/**
 * The default access log, as an operator runs it: `portico standalone` with stdout redirected to a file. Every
 * request answered has its line in the file once the process has exited on SIGTERM, none lost in the log's
 * buffer, one process or several workers.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Backend, PORTICO_BIN, startEchoBackend, waitUntil, writeTempConfig } from '@portico/testkit';

const REQUESTS = 2000;
const CONCURRENCY = 8;

let backend: Backend;
let dir: string;

before(async () => {
  backend = await startEchoBackend('echo');
  dir = mkdtempSync(join(tmpdir(), 'portico-access-log-'));
});

after(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (port: number): string => `
apiVersion: portico.dev/v1
kind: Service
metadata: { name: echo }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
---
apiVersion: portico.dev/v1
kind: Route
metadata: { name: main }
spec:
  rules: [{ backendRefs: [{ name: echo }] }]
`;

interface Started {
  child: ChildProcess;
  proxyUrl: string;
  /** The stdout file's text so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** The real binary with the default log level and its stdout in a file, as `portico standalone > file` does. */
async function startWithStdoutInFile(file: string, args: string[]): Promise<Started> {
  const fd = openSync(file, 'w');
  const child = spawn(
    process.execPath,
    [
      PORTICO_BIN,
      'standalone',
      '--config',
      writeTempConfig(config(backend.port)),
      '--proxy-port',
      '0',
      '--admin-port',
      '0',
      ...args,
    ],
    { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, PORTICO_NATS_URL: '', PORTICO_CONFIG: '' } },
  );
  closeSync(fd);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stdout = (): string => readFileSync(file, 'utf8');
  const port = await waitUntil(
    'portico to print where it listens',
    () => {
      if (child.exitCode !== null) throw new Error(`portico exited with ${child.exitCode}:\n${stderr}`);
      return stdout().match(/portico listening: proxy http:\/\/[^:]+:(\d+)/)?.[1];
    },
    { timeoutMs: 20_000 },
  );
  return { child, proxyUrl: `http://127.0.0.1:${port}`, stdout, stderr: () => stderr, exited };
}

/** Sends `count` requests, `CONCURRENCY` at a time, each with its own x-request-id; returns the ids answered 200. */
async function sendRequests(proxyUrl: string, count: number, prefix: string): Promise<string[]> {
  const answered: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const id = `${prefix}-${next++}`;
        // A new connection each time, so with workers the kernel spreads them over every worker.
        const res = await fetch(`${proxyUrl}/item`, { headers: { 'x-request-id': id, connection: 'close' } });
        await res.arrayBuffer();
        assert.equal(res.status, 200, `${id} answered ${res.status}`);
        assert.equal(res.headers.get('x-request-id'), id);
        answered.push(id);
      }
    }),
  );
  return answered;
}

function accessLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'access');
}

describe('the default access log to a file', { timeout: 120_000 }, () => {
  for (const workers of [1, 2]) {
    test(`${REQUESTS} requests, then SIGTERM: ${REQUESTS} access lines with their request ids, exit 0 (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
      const file = join(dir, `stdout-${workers}.log`);
      const portico = await startWithStdoutInFile(file, workers > 1 ? ['--workers', String(workers)] : []);
      let exit: [number | null, NodeJS.Signals | null];
      let sent: string[];
      try {
        sent = await sendRequests(portico.proxyUrl, REQUESTS, `w${workers}`);
        // At once: the last lines are still in the log's buffer, so only the shutdown writes them.
        portico.child.kill('SIGTERM');
        exit = await Promise.race([
          portico.exited,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`still running 20 s after SIGTERM:\n${portico.stderr()}`)), 20_000),
          ),
        ]);
      } finally {
        if (portico.child.exitCode === null && portico.child.signalCode === null) portico.child.kill('SIGKILL');
      }
      assert.deepEqual(exit, [0, null], `exit code and signal; stderr:\n${portico.stderr()}`);

      const lines = accessLines(portico.stdout());
      const ids = lines.map((l) => l.requestId as string);
      assert.equal(lines.length, REQUESTS, `one access line per request (${lines.length} of ${REQUESTS})`);
      assert.deepEqual([...new Set(ids)].sort(), [...sent].sort(), 'exactly the request ids sent, each once');
      for (const l of lines) {
        assert.equal(l.status, 200);
        assert.equal(l.path, '/item');
        assert.equal(l.route, 'main');
      }
      if (workers > 1) {
        const pids = new Set(lines.map((l) => l.pid));
        assert.equal(pids.size, workers, `lines from every worker (pids ${[...pids].join(', ')})`);
      }
    });
  }
});
