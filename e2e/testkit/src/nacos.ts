/**
 * A real Nacos server per test: the Nacos 3 server modules (republished on Maven Central as io.github.pig-mesh.nacos,
 * since the official server is not published there) built by e2e/peers/build.sh into
 * e2e/peers/nacos-server/target/nacos-server.jar, run standalone with embedded Derby and auth off, its home (data,
 * logs) in a temp dir.
 *
 * Start-up time: the fat jar boots in ~12-20 s on a 2-core box. The first start extracts the jar (Spring Boot's
 * `jarmode=tools extract`) and records a dynamic CDS archive when that JVM exits; later starts map the archive and
 * are ready in ~4-5 s. Both live in target/run/ next to the jar and are rebuilt when the jar changes.
 *
 * Ports: Nacos derives its gRPC ports (main + 1000, + 1001) and its Raft port (main - 1000) from the main port, so the
 * main port is drawn from a range where all four fit and are checked free.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireJavaPeerJar } from './java-peers.ts';
import { terminate } from './terminate.ts';

export interface NacosServer {
  /** `http://127.0.0.1:<port>/nacos`: the HTTP API root (v1 naming API under `/v1/ns`). */
  url: string;
  /** `127.0.0.1:<port>`, what a Nacos Registry's `addresses` and Nacos clients take. */
  address: string;
  port: number;
  /** The gRPC port Nacos 2/3 Java clients (Dubbo, Spring Cloud Alibaba) connect to: port + 1000. */
  grpcPort: number;
  /** Stops the server (SIGTERM, SIGKILL after 15 s) and removes its home. */
  stop(): Promise<void>;
  /**
   * Stops the server, runs `whileDown` (if given) while it is away, then starts it again on the same ports and home.
   * Ephemeral instances live in memory: they are gone after a restart until their clients register again.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

export interface StartNacosOptions {
  /** Main port (gRPC on +1000/+1001, Raft on -1000); a free one in 20000-29999 when absent. */
  port?: number;
  /** Extra `--name=value` Spring/Nacos properties, e.g. `{ 'nacos.core.auth.enabled': 'true' }`. */
  properties?: Record<string, string>;
}

const PEER_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../e2e/peers/nacos-server/target');
const JAR = join(PEER_DIR, 'nacos-server.jar');
const RUN_DIR = join(PEER_DIR, 'run');
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
const JVM_FLAGS = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Xlog:cds=off',
  '-Xlog:cds+dynamic=off',
];

const running = new Set<ChildProcess>();
const homes = new Set<string>();
let exitHookInstalled = false;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

async function freeNacosPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const all = await Promise.all([port - 1000, port, port + 1000, port + 1001].map(canListen));
    if (all.every(Boolean)) return port;
  }
  throw new Error('no free port set for Nacos (main, main-1000, main+1000, main+1001) found in 20000-29999');
}

/** The extracted jar for the current nacos-server.jar (made once per jar build) and its CDS archive path. */
function prepareRunDir(): { jar: string; archive: string } {
  const st = statSync(JAR);
  const stamp = `${st.size}-${Math.floor(st.mtimeMs)}`;
  const dir = join(RUN_DIR, stamp);
  const jar = join(dir, 'nacos-server.jar');
  if (!existsSync(jar)) {
    rmSync(RUN_DIR, { recursive: true, force: true });
    mkdirSync(RUN_DIR, { recursive: true });
    const tmp = mkdtempSync(join(RUN_DIR, 'extract-'));
    execFileSync('java', ['-Djarmode=tools', '-jar', JAR, 'extract', '--destination', join(tmp, 'x')], {
      stdio: 'ignore',
    });
    renameSync(join(tmp, 'x'), dir);
    rmSync(tmp, { recursive: true, force: true });
  }
  return { jar, archive: join(dir, 'nacos.jsa') };
}

/** Serving: the naming API answers (401/403 too: a server started with auth on refuses anonymous calls). */
async function serving(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200 || res.status === 401 || res.status === 403;
  } catch {
    return false;
  }
}

export async function startNacos(opts: StartNacosOptions = {}): Promise<NacosServer> {
  requireJavaPeerJar(JAR);
  const { jar, archive } = prepareRunDir();
  const port = opts.port ?? (await freeNacosPort());
  const home = mkdtempSync(join(tmpdir(), 'portico-nacos-'));
  homes.add(home);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
      for (const h of homes) rmSync(h, { recursive: true, force: true });
    });
  }
  const url = `http://127.0.0.1:${port}/nacos`;
  const props = { 'nacos.server.main.port': String(port), ...opts.properties };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    // Record the class-data archive on the first run of this jar; map it on every later run.
    const recording = !existsSync(archive);
    const pending = `${archive}.${process.pid}.${Date.now()}`;
    const cds = recording ? [`-XX:ArchiveClassesAtExit=${pending}`] : [`-XX:SharedArchiveFile=${archive}`];
    const proc = spawn(
      'java',
      [
        ...JVM_FLAGS,
        ...cds,
        `-Dnacos.home=${home}`,
        `-Dnacos.logs.path=${join(home, 'logs')}`,
        '-jar',
        jar,
        ...Object.entries(props).map(([k, v]) => `--${k}=${v}`),
      ],
      { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(proc);
    let log = '';
    const keep = (s: string) => {
      log = (log + s).slice(-8000);
    };
    proc.stdout?.setEncoding('utf8').on('data', keep);
    proc.stderr?.setEncoding('utf8').on('data', keep);
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        running.delete(proc);
        if (recording && existsSync(pending)) {
          if (statSync(pending).size > 0 && !existsSync(archive)) renameSync(pending, archive);
          else rmSync(pending, { force: true });
        }
        resolve();
      }),
    );
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
      if (await serving(`${url}/v1/ns/service/list?pageNo=1&pageSize=1`)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
    const tail = log
      .trim()
      .split('\n')
      .filter((l) => /ERROR|Exception|Caused by/.test(l))
      .slice(-5)
      .join(' | ');
    throw new Error(`Nacos on port ${port} did not become ready in ${READY_TIMEOUT_MS} ms: ${tail || log.slice(-500)}`);
  };

  const halt = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    await terminate(proc, exited, STOP_TIMEOUT_MS);
  };

  await start();
  return {
    url,
    address: `127.0.0.1:${port}`,
    port,
    grpcPort: port + 1000,
    async stop() {
      await halt();
      rmSync(home, { recursive: true, force: true });
      homes.delete(home);
    },
    async restart(whileDown) {
      await halt();
      if (whileDown !== undefined) await whileDown();
      await start();
    },
  };
}
