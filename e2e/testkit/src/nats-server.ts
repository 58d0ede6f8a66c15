/**
 * A real nats-server per test: random port on 127.0.0.1, JetStream in a temp store that survives restart().
 * Readiness is checked with a few lines of the NATS text protocol so the test kit needs no NATS client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { terminate } from './terminate.ts';

export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** JetStream store directory; a temp dir (removed at process exit) when absent. */
  storeDir?: string;
  /** Port on 127.0.0.1; a free random one when absent. */
  port?: number;
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. The store is kept. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port and store dir. */
  restart(): Promise<void>;
}

const INSTALL_HINT = 'nats-server not found: install it with `apt-get install nats-server`';
const READY_TIMEOUT_MS = 10_000;

const createdStores = new Set<string>();
let exitHookInstalled = false;

function removeCreatedStores(): void {
  for (const dir of createdStores) rmSync(dir, { recursive: true, force: true });
  createdStores.clear();
}

/** The nats-server binary on PATH or in /usr/sbin (Debian installs it there, outside a user's PATH). */
export function findNatsServer(
  dirs: readonly string[] = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
  ],
): string {
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here, try the next dir
    }
  }
  throw new Error(INSTALL_HINT);
}

/** A port that was free a moment ago: listen on 0, read the number, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One probe over the NATS text protocol: connect, and with JetStream ask `$JS.API.INFO`.
 * Resolves true when the server answered (and JetStream answered without an error), false otherwise.
 */
function probe(port: number, jetstream: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 1000);
    socket.setEncoding('utf8');
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    let sent = false;
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (!sent) {
        if (!buf.includes('\r\n')) return;
        if (!buf.startsWith('INFO ')) return finish(false);
        sent = true;
        buf = '';
        const cmds = ['CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}'];
        if (jetstream) cmds.push('SUB _INBOX.ready 1', 'PUB $JS.API.INFO _INBOX.ready 0', '');
        cmds.push('PING', '');
        socket.write(cmds.join('\r\n'));
        return;
      }
      if (buf.includes('-ERR')) return finish(false);
      if (!jetstream) {
        if (buf.includes('PONG')) finish(true);
        return;
      }
      // JetStream not ready yet: a 503 no-responders status arrives as HMSG.
      if (buf.includes('HMSG _INBOX.ready')) return finish(false);
      const m = /MSG _INBOX\.ready 1 (\d+)\r\n/.exec(buf);
      if (m === null) return;
      const body = buf.slice(m.index + m[0].length);
      if (body.length < Number(m[1])) return;
      finish(body.includes('account_info_response') && !body.includes('"error"'));
    });
  });
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  const jetstream = opts.jetstream ?? true;
  const port = opts.port ?? (await freePort());
  let storeDir = opts.storeDir;
  if (storeDir === undefined) {
    storeDir = mkdtempSync(join(tmpdir(), 'portico-nats-'));
    createdStores.add(storeDir);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', removeCreatedStores);
    }
  }
  const store = storeDir;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (jetstream) args.push('-js', '-sd', store);
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      log = (log + s).slice(-4000);
    });
    let hasExited = false;
    exited = new Promise((resolve) => {
      proc.once('exit', () => {
        hasExited = true;
        resolve();
      });
    });
    proc.once('error', () => {
      hasExited = true;
    });
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (hasExited) break;
      if (await probe(port, jetstream)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
    throw new Error(
      `nats-server on port ${port} did not become ready: ${log.trim().split('\n').slice(-5).join(' | ')}`,
    );
  };

  const stop = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    await terminate(proc, exited);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: store,
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}
