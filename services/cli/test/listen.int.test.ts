/**
 * Where `portico standalone` listens and what it says when it cannot: --proxy-host, the banner naming the bound
 * addresses, and a busy, foreign or duplicated port ending in one line that names the flag to change.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, REPO, start } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-listen-'));
let busy: Server;
let busyPort: number;

before(async () => {
  // Held on every interface, so a bind on 0.0.0.0 or 127.0.0.1 to the same port fails.
  busy = createServer();
  busy.listen(0, '0.0.0.0');
  await once(busy, 'listening');
  busyPort = (busy.address() as { port: number }).port;
});

after(() => {
  busy.close();
  rmSync(dir, { recursive: true, force: true });
});

let runs = 0;
/** Runs the bin to its exit with stdout and stderr in one file, so the order of lines is the order written. */
async function run(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const file = join(dir, `out-${runs++}.txt`);
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, PORTICO_NATS_URL: '', PORTICO_CONFIG: '' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
}

/** True when a TCP connection to host:port is accepted. */
async function accepts(host: string, port: number): Promise<boolean> {
  const socket = connect(port, host);
  try {
    await once(socket, 'connect');
    return true;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return false;
  } finally {
    socket.destroy();
  }
}

const example = join(REPO, 'deploy/example.yaml');

// Each case is its own process: run them side by side so the file stays quick.
describe('listeners', { concurrency: 4 }, () => {
  for (const [what, flags, expected] of [
    ['the proxy port', ['--proxy-port', 'BUSY', '--admin-port', '0'], '(proxy); choose another with --proxy-port'],
    [
      'the proxy port with TLS on',
      ['--proxy-port', 'BUSY', '--tls-port', '0', '--admin-port', '0'],
      '(proxy); choose another with --proxy-port',
    ],
    [
      'the TLS port',
      ['--proxy-port', '0', '--tls-port', 'BUSY', '--admin-port', '0'],
      '(tls); choose another with --tls-port',
    ],
    ['the admin port', ['--proxy-port', '0', '--admin-port', 'BUSY'], '(admin); choose another with --admin-port'],
  ] as const) {
    test(`${what} in use: one line naming the flag, exit 1, nothing after it`, async () => {
      const args = ['standalone', '--config', example, ...flags.map((f) => (f === 'BUSY' ? String(busyPort) : f))];
      const { code, lines } = await run(args);
      assert.equal(code, 1, lines.join('\n'));
      assert.equal(lines.at(-1), `portico standalone: port ${busyPort} is in use ${expected}`);
      // The config was applied before the listeners started; nothing (a stack, a late log line) follows the error.
      assert.ok(
        lines.slice(0, -1).every((l) => l.startsWith('{')),
        `only log lines before the error:\n${lines.join('\n')}`,
      );
      assert.doesNotMatch(lines.join('\n'), /\n\s+at |EADDRINUSE|portico listening/);
    });
  }

  test('an address this machine does not have names --proxy-host', async () => {
    // 203.0.113.0/24 is TEST-NET-3: documentation only, never configured on a host.
    const { code, lines } = await run([
      'standalone',
      '--proxy-host',
      '203.0.113.77',
      '--proxy-port',
      '0',
      '--admin-port',
      '0',
    ]);
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(
      lines.at(-1),
      'portico standalone: address 203.0.113.77 is not on this machine (proxy); choose another with --proxy-host',
    );
  });

  test('two listeners on one port is a usage error before anything starts', async () => {
    const { code, lines } = await run(['standalone', '--proxy-port', '18080', '--admin-port', '18080']);
    assert.equal(code, 2);
    assert.equal(
      lines[0],
      'portico standalone: --proxy-port and --admin-port are both 18080; each listener needs its own port',
    );
  });

  test('a --proxy-host that is not an address is a usage error', async () => {
    const { code, lines } = await run(['standalone', '--proxy-host', 'http://x/']);
    assert.equal(code, 2);
    assert.match(lines[0]!, /--proxy-host must be an IP address or a host name, got "http:\/\/x\/"/);
  });

  for (const [bind, reachableOn127002] of [
    [undefined, true],
    ['127.0.0.1', false],
  ] as const) {
    test(`the banner names the address bound (${bind ?? 'default: every interface'})`, async () => {
      const args = ['standalone', '--proxy-port', '0', '--admin-port', '0', '--log-level', 'warn'];
      if (bind !== undefined) args.push('--proxy-host', bind);
      const { child, match, exited } = await start(
        args,
        /portico listening: proxy http:\/\/([\d.]+):(\d+) admin http:\/\/([\d.]+):(\d+)/,
      );
      try {
        assert.equal(match[1], bind ?? '0.0.0.0');
        assert.equal(match[3], '127.0.0.1', 'the admin API stays on loopback');
        const port = Number(match[2]);
        assert.equal(await accepts('127.0.0.1', port), true);
        // Linux routes all of 127/8 to lo: only a socket bound to every interface answers on 127.0.0.2.
        assert.equal(await accepts('127.0.0.2', port), reachableOn127002);
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0);
    });
  }
});
