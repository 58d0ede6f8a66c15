/**
 * A real ZooKeeper per test (Debian's `zookeeper` package): standalone ZooKeeperServerMain on a random port of
 * 127.0.0.1, data in a temp dir that survives restart(). Readiness is the `ruok` four-letter word.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server.ts';
import { terminate } from './terminate.ts';

export interface ZooKeeperServer {
  /** `127.0.0.1:<port>`, what ZooKeeper clients take. */
  connectString: string;
  port: number;
  dataDir: string;
  /** SIGTERM and wait; the data dir is kept. */
  stop(): Promise<void>;
  /** stop(), then start on the same port and data. */
  restart(): Promise<void>;
}

const JAR = '/usr/share/java/zookeeper.jar';
const INSTALL_HINT = `ZooKeeper not found (${JAR}): install it with \`apt-get install zookeeper\``;
const READY_TIMEOUT_MS = 30_000;
const running = new Set<ChildProcess>();
const dataDirs = new Set<string>();

function ruok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (b) => {
      reply += b.toString();
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(reply === 'imok'));
  });
}

export async function startZooKeeper(opts: { port?: number } = {}): Promise<ZooKeeperServer> {
  if (!existsSync(JAR)) throw new Error(INSTALL_HINT);
  const port = opts.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-zk-'));
  if (dataDirs.size === 0)
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
      for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    });
  dataDirs.add(dataDir);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const proc = spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Dzookeeper.admin.enableServer=false',
        '-Dzookeeper.4lw.commands.whitelist=ruok,srvr,mntr',
        '-cp',
        `/etc/zookeeper/conf:${JAR}`,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        String(port),
        dataDir,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(proc);
    let log = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      log = (log + s).slice(-4000);
    });
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await ruok(port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
    throw new Error(`ZooKeeper on port ${port} did not become ready: ${log.trim().split('\n').slice(-5).join(' | ')}`);
  };

  const stop = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    await terminate(proc, exited);
  };

  await start();
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir,
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}
