/**
 * The Java test peers of e2e/peers (a Eureka server, a Spring Cloud service, a Dubbo provider, a grpc-java server;
 * the Nacos server has its own starter in nacos.ts), each a fat jar built by `e2e/peers/build.sh`, started as a `java` child process
 * on free ports of 127.0.0.1. A jar that was not built fails at once with JavaPeersNotBuiltError.
 * A peer's stdout and stderr are kept in a ring buffer and quoted in the error when it fails to become ready;
 * every peer still running when the test process exits is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './nats-server.ts';

/** e2e/peers in this repository. */
export const JAVA_PEERS_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../../e2e/peers');

/** Quick start for short-lived test JVMs: C1 only, serial GC, class-data sharing when available. */
export const JAVA_PEER_JVM_FLAGS: readonly string[] = Object.freeze([
  '-Xmx256m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xshare:auto',
]);

export type JavaPeerModule = 'eureka-server' | 'spring-service' | 'dubbo-provider' | 'grpc-server';

/** Every module build.sh makes (nacos-server is started by nacos.ts). */
const ALL_MODULES = ['eureka-server', 'spring-service', 'dubbo-provider', 'nacos-server', 'grpc-server'] as const;
const BUILD_COMMAND = 'bash e2e/peers/build.sh';

/**
 * The Java test peers were not built. One build makes every jar, so the message lists all that are missing; its
 * stack is the message alone, so each test that needed a peer reports one clear line instead of a trace.
 */
export class JavaPeersNotBuiltError extends Error {
  readonly missing: readonly string[];

  constructor(missing: readonly string[]) {
    const names = missing.map((jar) => relative(resolve(JAVA_PEERS_DIR, '../..'), jar)).join(', ');
    super(`the Java test peers are not built (missing ${names}); run: ${BUILD_COMMAND}`);
    this.name = 'JavaPeersNotBuiltError';
    this.missing = missing;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Throws JavaPeersNotBuiltError, naming every missing jar, when `jar` (one of the peers' jars) is missing. */
export function requireJavaPeerJar(jar: string, peersDir: string = JAVA_PEERS_DIR): string {
  if (existsSync(jar)) return jar;
  const all = ALL_MODULES.map((m) => join(peersDir, m, 'target', `${m}.jar`)).filter((j) => !existsSync(j));
  throw new JavaPeersNotBuiltError(all.includes(jar) ? all : [jar, ...all]);
}

export type JavaPeerReady = { url: string } | { log: RegExp };

export interface StartJavaPeerOptions {
  /** Path of the runnable jar. */
  jar: string;
  /** Program arguments, after `-jar <jar>`. */
  args?: readonly string[];
  /** JVM options before `-jar`; JAVA_PEER_JVM_FLAGS when absent. */
  jvmArgs?: readonly string[];
  /** Ready when the URL answers 2xx, or when a line of output matches. */
  ready: JavaPeerReady;
  /** Default 60 s (a Spring Boot JVM takes 4-10 s on two busy cores). */
  timeoutMs?: number;
  /** The port reported back; defaults to the ready URL's port (0 when there is none). */
  port?: number;
}

export interface JavaPeer {
  readonly port: number;
  readonly pid: number;
  /** The last lines the JVM printed, stdout and stderr interleaved. */
  output(): string;
  /** SIGTERM (the peer deregisters itself in its shutdown hooks), SIGKILL after 20 s; resolves on exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing is deregistered. Resolves on exit. */
  kill(): Promise<void>;
}

export interface EurekaServerPeer extends JavaPeer {
  /** The service URL clients take, `http://127.0.0.1:<port>/eureka/`. */
  readonly url: string;
}

export interface StartSpringServiceOptions {
  /** spring.application.name (Eureka upper-cases it as the app name). */
  name: string;
  /** Register in this Eureka, e.g. `eurekaServer.url`. Exactly one of eurekaUrl and zookeeper. */
  eurekaUrl?: string;
  /** Register in this ZooKeeper (`127.0.0.1:2181`) under /services/<name>/<instanceId>. */
  zookeeper?: string;
  /** Instance metadata `weight` (default 1). */
  weight?: number;
  port?: number;
  timeoutMs?: number;
}

export interface SpringServicePeer extends JavaPeer {
  readonly name: string;
  /** `127.0.0.1:<name>:<port>`: the Eureka instanceId and the ZooKeeper node name. */
  readonly instanceId: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

export interface StartDubboProviderOptions {
  /** `zookeeper://127.0.0.1:<port>` or `nacos://127.0.0.1:<port>`. */
  registry: string;
  /** Dubbo application name (default dubbo-provider). */
  name?: string;
  version?: string;
  group?: string;
  /** Provider weight (Dubbo's default 100). */
  weight?: number;
  triPort?: number;
  dubboPort?: number;
  timeoutMs?: number;
}

export interface DubboProviderPeer extends JavaPeer {
  readonly name: string;
  /** The triple port (also `port`): gRPC over HTTP/2 and JSON over HTTP/1.1. */
  readonly triPort: number;
  readonly dubboPort: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;
const RING_LINES = 200;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllAtExit(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** The jar of one e2e/peers module; throws JavaPeersNotBuiltError when it was not built. */
export function javaPeerJar(module: JavaPeerModule): string {
  return requireJavaPeerJar(join(JAVA_PEERS_DIR, module, 'target', `${module}.jar`));
}

/** `java` from JAVA_HOME, else from PATH. */
function findJava(): string {
  const home = process.env.JAVA_HOME;
  if (home !== undefined && home !== '' && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (existsSync(join(dir, 'java'))) return join(dir, 'java');
  }
  throw new Error('java not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME');
}

/** Last RING_LINES complete lines plus the line being written, per process. */
class LineRing {
  readonly #lines: string[] = [];
  readonly #partial = new Map<string, string>();
  readonly #onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(stream: string, chunk: string): void {
    const parts = ((this.#partial.get(stream) ?? '') + chunk).split('\n');
    this.#partial.set(stream, parts.pop() ?? '');
    for (const line of parts) {
      this.#lines.push(line);
      if (this.#lines.length > RING_LINES) this.#lines.shift();
      this.#onLine(line);
    }
  }

  text(): string {
    const open = [...this.#partial.values()].filter((p) => p !== '');
    return [...this.#lines, ...open].join('\n');
  }
}

/** One GET; true on a 2xx answer. */
function probeUrl(url: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request(url, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
    req.end();
  });
}

/** Starts `java <jvmArgs> -jar <jar> <args>` and resolves once it is ready. */
export async function startJavaPeer(opts: StartJavaPeerOptions): Promise<JavaPeer> {
  if (typeof opts.jar !== 'string' || opts.jar === '') throw new TypeError('startJavaPeer: jar must be a path');
  if (!existsSync(opts.jar)) {
    if (!relative(JAVA_PEERS_DIR, opts.jar).startsWith('..')) requireJavaPeerJar(opts.jar);
    throw new Error(`startJavaPeer: jar ${opts.jar} does not exist`);
  }
  const ready = opts.ready;
  if (!('url' in ready) && !('log' in ready)) throw new TypeError('startJavaPeer: ready must be {url} or {log}');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError('startJavaPeer: timeoutMs must be > 0');
  const port = opts.port ?? ('url' in ready ? Number(new URL(ready.url).port) : 0);
  const name = basename(opts.jar, '.jar');

  const child = spawn(findJava(), [...(opts.jvmArgs ?? JAVA_PEER_JVM_FLAGS), '-jar', opts.jar, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllAtExit);
  }
  running.add(child);

  let sawReadyLine = false;
  const ring = new LineRing((line) => {
    if ('log' in ready && ready.log.test(line)) sawReadyLine = true;
  });
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (s: string) => ring.push('out', s));
  child.stderr?.on('data', (s: string) => ring.push('err', s));

  let exitDescription: string | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((done) => {
    child.once('close', (code, signal) => {
      exitDescription = signal === null ? `exit code ${code}` : `signal ${signal}`;
      running.delete(child);
      done();
    });
    child.once('error', (err) => {
      spawnError = err;
      running.delete(child);
      done();
    });
  });
  const isExited = () => exitDescription !== undefined || spawnError !== undefined;

  const signalAndWait = async (signal: NodeJS.Signals, graceMs: number) => {
    if (isExited()) return;
    child.kill(signal);
    const timer = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
    await exited;
    if (timer !== undefined) clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  let why = `not ready after ${timeoutMs} ms`;
  let isReady = false;
  for (;;) {
    if (isExited()) {
      why = spawnError !== undefined ? `could not start: ${spawnError.message}` : `exited (${exitDescription})`;
      break;
    }
    if ('url' in ready ? await probeUrl(ready.url) : sawReadyLine) {
      isReady = true;
      break;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 'url' in ready ? 200 : 50));
  }
  if (!isReady) {
    await signalAndWait('SIGKILL', 0);
    const want = 'url' in ready ? `GET ${ready.url}` : `a line matching ${ready.log}`;
    const tail = ring.text().split('\n').slice(-40).join('\n');
    throw new Error(`Java peer ${name} (waiting for ${want}) ${why}; last output:\n${tail}`);
  }

  return {
    port,
    pid: child.pid ?? 0,
    output: () => ring.text(),
    stop: () => signalAndWait('SIGTERM', STOP_GRACE_MS),
    kill: () => signalAndWait('SIGKILL', 0),
  };
}

/** Two distinct free ports (freePort alone may hand the same one out twice). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** A standalone Eureka server (no self-preservation, no read-only cache): changes show in /eureka/apps at once. */
export async function startEurekaServer(opts: { port?: number; timeoutMs?: number } = {}): Promise<EurekaServerPeer> {
  const jar = javaPeerJar('eureka-server');
  const port = opts.port ?? (await freePort());
  const peer = await startJavaPeer({
    jar,
    args: [`--server.port=${port}`],
    ready: { url: `http://127.0.0.1:${port}/eureka/apps` },
    timeoutMs: opts.timeoutMs,
  });
  return { ...peer, url: `http://127.0.0.1:${port}/eureka/` };
}

/**
 * A Spring Boot service answering GET /hello (and any other GET path) with {service, instance, port[, path]}.
 * Resolves once it is registered: Eureka answered its register call with 204, or (ZooKeeper) Spring logged
 * "Started", which comes after the synchronous ZooKeeper registration.
 */
export async function startSpringService(opts: StartSpringServiceOptions): Promise<SpringServicePeer> {
  if (typeof opts.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.name)) {
    throw new TypeError('startSpringService: name must be letters, digits, ".", "_" or "-"');
  }
  if ((opts.eurekaUrl === undefined) === (opts.zookeeper === undefined)) {
    throw new TypeError('startSpringService: give exactly one of eurekaUrl and zookeeper');
  }
  if (opts.weight !== undefined && !(Number.isInteger(opts.weight) && opts.weight >= 0)) {
    throw new RangeError('startSpringService: weight must be an integer >= 0');
  }
  const jar = javaPeerJar('spring-service');
  const port = opts.port ?? (await freePort());
  const args = [`--server.port=${port}`, `--name=${opts.name}`, `--weight=${opts.weight ?? 1}`];
  if (opts.eurekaUrl !== undefined) args.push('--registry=eureka', `--eureka=${opts.eurekaUrl}`);
  else args.push('--registry=zookeeper', `--zookeeper=${opts.zookeeper}`);
  const peer = await startJavaPeer({
    jar,
    args,
    port,
    ready: { log: opts.eurekaUrl !== undefined ? / - registration status: 204/ : /Started SpringServiceMain in/ },
    timeoutMs: opts.timeoutMs,
  });
  return { ...peer, name: opts.name, instanceId: `127.0.0.1:${opts.name}:${port}`, url: `http://127.0.0.1:${port}` };
}

/**
 * A Dubbo 3.3 provider of com.example.DemoService (`sayHello(name)` -> "hello <name> from <app>:<triPort>") on the
 * tri and dubbo protocols, registered interface-level and application-level. Resolves once it is registered.
 */
export async function startDubboProvider(opts: StartDubboProviderOptions): Promise<DubboProviderPeer> {
  if (typeof opts.registry !== 'string' || !/^(zookeeper|nacos):\/\/[^/]+/.test(opts.registry)) {
    throw new TypeError('startDubboProvider: registry must be zookeeper://host:port or nacos://host:port');
  }
  if (opts.weight !== undefined && !(Number.isInteger(opts.weight) && opts.weight >= 0)) {
    throw new RangeError('startDubboProvider: weight must be an integer >= 0');
  }
  const jar = javaPeerJar('dubbo-provider');
  const name = opts.name ?? 'dubbo-provider';
  let triPort = opts.triPort;
  let dubboPort = opts.dubboPort;
  if (triPort === undefined || dubboPort === undefined) {
    const [a, b] = await freePorts(2);
    triPort ??= a;
    dubboPort ??= triPort === b ? a : b;
  }
  const args = [`--registry=${opts.registry}`, `--name=${name}`, `--tri-port=${triPort}`, `--dubbo-port=${dubboPort}`];
  if (opts.version !== undefined) args.push(`--version=${opts.version}`);
  if (opts.group !== undefined) args.push(`--group=${opts.group}`);
  if (opts.weight !== undefined) args.push(`--weight=${opts.weight}`);
  const peer = await startJavaPeer({
    jar,
    args,
    port: triPort,
    ready: { log: /^PEER READY / },
    timeoutMs: opts.timeoutMs,
  });
  return { ...peer, name, triPort, dubboPort };
}

export interface StartJavaGrpcServerOptions {
  /** Port to listen on; 0 (the default) lets the server pick a free one and report it. */
  port?: number;
  timeoutMs?: number;
}

export interface JavaGrpcServerPeer extends JavaPeer {
  /** `127.0.0.1:<port>`, a target for @grpc/grpc-js clients. */
  readonly address: string;
  /** Same as stop(): SIGTERM, running calls get a second, open streams are then cancelled. */
  close(): Promise<void>;
}

/** e2e/peers/grpc-server/src/main/proto: the root of `portico/java/v1/library.proto`, for proto-loader clients. */
export const JAVA_GRPC_SERVER_PROTO_DIR: string = join(JAVA_PEERS_DIR, 'grpc-server', 'src', 'main', 'proto');

/**
 * A grpc-java 1.85 server of `portico.java.v1.Library` (google.api.http annotated methods over books kept in memory;
 * see library.proto) with server reflection v1 and v1alpha, which serve protoc's descriptors with their method
 * options. Listens on 127.0.0.1; resolves once it printed its bound port.
 */
export async function startJavaGrpcServer(opts: StartJavaGrpcServerOptions = {}): Promise<JavaGrpcServerPeer> {
  const requested = opts.port ?? 0;
  if (!(Number.isInteger(requested) && requested >= 0 && requested <= 65535)) {
    throw new RangeError('startJavaGrpcServer: port must be an integer from 0 to 65535');
  }
  const jar = javaPeerJar('grpc-server');
  const readyLine = /^PEER READY grpc=(\d+)$/m;
  const peer = await startJavaPeer({
    jar,
    args: [`--port=${requested}`],
    ready: { log: readyLine },
    timeoutMs: opts.timeoutMs,
  });
  const port = Number(readyLine.exec(peer.output())?.[1]);
  return { ...peer, port, address: `127.0.0.1:${port}`, close: peer.stop };
}
