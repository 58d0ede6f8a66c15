/**
 * Static checks of the deploy files, for a machine without a Docker engine: docker-compose.yml, the
 * Dockerfiles it builds and the Portico config files it applies must agree with the repository.
 * One case also runs the example backend and the compose healthcheck command against it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { Script } from 'node:vm';
import { parseDocuments, type Resource } from '@portico/config';
import { findNatsServer } from '@portico/testkit';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { target?: number; published?: number | string })[];
  expose?: (string | number)[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

// `merge: true` resolves the `<<: *portico-image` merge keys the file uses.
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
const services = Object.entries(compose.services ?? {});

function buildOf(s: ComposeService): { context: string; dockerfile: string } | undefined {
  if (s.build === undefined) return undefined;
  const b = typeof s.build === 'string' ? { context: s.build } : s.build;
  const context = resolve(ROOT, b.context ?? '.');
  return { context, dockerfile: resolve(context, b.dockerfile ?? 'Dockerfile') };
}

/** Host side of a bind mount, or undefined for a named volume. */
function bindSource(v: NonNullable<ComposeService['volumes']>[number]): { bind?: string; named?: string } {
  if (typeof v === 'object') return v.type === 'bind' ? { bind: v.source } : { named: v.source };
  const source = v.split(':')[0]!;
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~')
    ? { bind: source }
    : { named: source };
}

function validPort(text: string): boolean {
  // [ip:][host[-range]:]container[-range][/proto]
  const [spec, proto] = text.split('/');
  if (proto !== undefined && !['tcp', 'udp', 'sctp'].includes(proto)) return false;
  const parts = spec!.split(':');
  const ports = parts.length === 3 ? parts.slice(1) : parts;
  return ports.every((p) => p.split('-').every((n) => /^\d+$/.test(n) && Number(n) >= 1 && Number(n) <= 65535));
}

function dependsOn(s: ComposeService): [string, string][] {
  if (s.depends_on === undefined) return [];
  if (Array.isArray(s.depends_on)) return s.depends_on.map((n) => [n, 'service_started']);
  return Object.entries(s.depends_on).map(([n, d]) => [n, d?.condition ?? 'service_started']);
}

function argv(x: string | string[] | undefined): string[] {
  if (x === undefined) return [];
  return Array.isArray(x) ? x : x.split(/\s+/).filter(Boolean);
}

// --- Dockerfile parsing -------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  line: number;
}

function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      line = `${line.trimEnd().slice(0, -1)} `;
      i++;
      // comment lines inside a continued instruction are dropped by Docker
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!;
    }
    const m = line.trim().match(/^(\w+)\s+(.*)$/);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  return out;
}

/** COPY/ADD: flags, then sources and a destination, in shell or JSON form. */
function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = rest.match(/^--([\w-]+)(?:=(\S+))?\s+/);
    if (!m) break;
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { flags, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** .dockerignore patterns as regular expressions over context-relative paths (Go filepath.Match plus `**`). */
function ignoreMatchers(file: string): RegExp[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'))
    .map((p) => {
      const body = posix
        .normalize(p.replace(/^\//, ''))
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      // A pattern that names a directory ignores everything under it.
      return new RegExp(`^${body}(?:/.*)?$`);
    });
}

/** Each Dockerfile once, named by the first service that builds it. */
function dockerfiles(): { service: string; context: string; dockerfile: string }[] {
  const seen = new Map<string, { service: string; context: string; dockerfile: string }>();
  for (const [name, s] of services) {
    const b = buildOf(s);
    if (b && !seen.has(b.dockerfile)) seen.set(b.dockerfile, { service: name, ...b });
  }
  return [...seen.values()];
}

describe('docker-compose.yml', () => {
  test('defines the services the stack needs', () => {
    const names = services.map(([n]) => n);
    for (const want of [
      'nats',
      'portico-proxy',
      'portico-config',
      'portico-syncer',
      'hello',
      'zookeeper',
      'nacos',
      'consul',
      'eureka',
      'orders',
      'demo-provider',
    ])
      assert.ok(names.includes(want), want);
  });

  test('every service has an image or a build whose context and Dockerfile exist', () => {
    for (const [name, s] of services) {
      const b = buildOf(s);
      assert.ok(s.image !== undefined || b !== undefined, `${name}: neither image nor build`);
      if (b === undefined) continue;
      assert.ok(existsSync(b.context) && statSync(b.context).isDirectory(), `${name}: context ${b.context} missing`);
      assert.ok(existsSync(b.dockerfile), `${name}: Dockerfile ${b.dockerfile} missing`);
    }
  });

  test('every bind mount exists on the host and every named volume is declared', () => {
    const declared = Object.keys(compose.volumes ?? {});
    let binds = 0;
    for (const [name, s] of services) {
      for (const v of s.volumes ?? []) {
        const { bind, named } = bindSource(v);
        if (bind !== undefined) {
          binds++;
          assert.ok(existsSync(resolve(ROOT, bind)), `${name}: bind source ${bind} does not exist`);
        } else assert.ok(named && declared.includes(named), `${name}: volume ${named} is not declared`);
      }
    }
    assert.ok(binds > 0, 'expected the deploy/ bind mounts');
  });

  test('depends_on names defined services, and service_healthy ones have a healthcheck', () => {
    const defined = new Map(services);
    for (const [name, s] of services) {
      for (const [dep, condition] of dependsOn(s)) {
        assert.ok(defined.has(dep), `${name} depends on undefined service ${dep}`);
        assert.ok(
          ['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition),
          `${name}: unknown condition ${condition}`,
        );
        if (condition === 'service_healthy')
          assert.ok(
            defined.get(dep)!.healthcheck?.test,
            `${name} waits for ${dep} to be healthy, which has no healthcheck`,
          );
      }
    }
  });

  test('ports and exposed ports are valid, and the proxy publishes 8080 and 9901', () => {
    for (const [name, s] of services) {
      for (const p of s.ports ?? []) {
        if (typeof p === 'object') assert.ok(validPort(String(p.target)), `${name}: port ${JSON.stringify(p)}`);
        else assert.ok(validPort(String(p)), `${name}: port "${p}"`);
      }
      for (const p of s.expose ?? []) assert.ok(validPort(String(p)), `${name}: expose "${p}"`);
    }
    const proxyPorts = (compose.services['portico-proxy']?.ports ?? []).map(String);
    assert.ok(proxyPorts.some((p) => p.endsWith(':8080')));
    assert.ok(proxyPorts.some((p) => p.endsWith(':9901')));
  });

  test('node -e healthchecks are valid JavaScript', () => {
    let checked = 0;
    for (const [name, s] of services) {
      const t = s.healthcheck?.test;
      if (!Array.isArray(t)) continue;
      const i = t.indexOf('-e');
      if (t[1] !== 'node' || i < 0) continue;
      assert.doesNotThrow(() => new Script(t[i + 1]!), `${name}: healthcheck script does not parse`);
      checked++;
    }
    assert.ok(checked >= 2);
  });

  test('portico commands use known subcommands and their config files exist in the mounted folder', () => {
    const commands = ['standalone', 'front-proxy', 'apply', 'get', 'delete', 'validate', 'discovery-syncer'];
    for (const [name, s] of services) {
      if (buildOf(s)?.dockerfile !== join(ROOT, 'deploy/Dockerfile')) continue;
      const args = argv(s.command);
      assert.ok(commands.includes(args[0]!), `${name}: unknown portico command ${args[0]}`);
      // Map container paths back through the service's bind mounts.
      const mounts = (s.volumes ?? []).flatMap((v) => {
        if (typeof v !== 'string') return [];
        const [src, dst] = v.split(':');
        return src!.startsWith('.') ? [{ src: resolve(ROOT, src!), dst: dst! }] : [];
      });
      args.forEach((a, i) => {
        if (a !== '-f' && a !== '--config') return;
        const file = args[i + 1]!;
        const mount = mounts.find((m) => file.startsWith(`${m.dst}/`));
        const host = mount ? join(mount.src, file.slice(mount.dst.length)) : join(ROOT, file);
        assert.ok(existsSync(host), `${name}: ${file} (${host}) does not exist`);
      });
    }
  });
});

describe('Dockerfiles', () => {
  for (const { service, context, dockerfile } of dockerfiles()) {
    test(`${service}: ${dockerfile.slice(ROOT.length + 1)} copies only what exists and is not ignored`, () => {
      const instructions = dockerInstructions(readFileSync(dockerfile, 'utf8'));
      const ignored = [
        ...ignoreMatchers(`${dockerfile}.dockerignore`),
        ...(existsSync(`${dockerfile}.dockerignore`) ? [] : ignoreMatchers(join(context, '.dockerignore'))),
      ];
      const stages: string[] = [];
      let copies = 0;
      for (const ins of instructions) {
        if (ins.op === 'FROM') {
          const m = ins.args.match(/\s+AS\s+(\S+)/i);
          if (m) stages.push(m[1]!);
          continue;
        }
        if (ins.op !== 'COPY' && ins.op !== 'ADD') continue;
        const { flags, sources } = copyArgs(ins.args);
        assert.ok(sources.length > 0, `line ${ins.line}: no source`);
        if (flags.from !== undefined) {
          assert.ok(stages.includes(flags.from), `line ${ins.line}: --from=${flags.from} is not an earlier stage`);
          continue;
        }
        for (const src of sources) {
          copies++;
          const rel = posix.normalize(src).replace(/^\.\/?/, '');
          assert.ok(existsSync(join(context, rel)), `line ${ins.line}: COPY source ${src} does not exist`);
          if (rel !== '')
            assert.ok(!ignored.some((r) => r.test(rel)), `line ${ins.line}: COPY source ${src} is .dockerignored`);
        }
      }
      assert.ok(copies > 0);
    });
  }

  test('deploy/Dockerfile: Node 24 slim base, non-root, ports, entrypoint that exists', () => {
    const ins = dockerInstructions(readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8'));
    const arg = ins.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    assert.match(arg?.args ?? '', /^NODE_IMAGE=node:24(-bookworm)?-slim$/);
    const last = ins.slice(ins.findLastIndex((i) => i.op === 'FROM'));
    assert.ok(
      last.some((i) => i.op === 'USER' && i.args !== 'root' && i.args !== '0'),
      'runtime stage runs as non-root',
    );
    assert.deepEqual(
      last
        .find((i) => i.op === 'EXPOSE')
        ?.args.split(/\s+/)
        .sort(),
      ['8080', '9901'],
    );
    const entry = JSON.parse(last.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    assert.deepEqual(entry, ['node', 'services/cli/bin/portico.js']);
    assert.ok(existsSync(join(ROOT, entry[1]!)));
    const ignored = ignoreMatchers(join(ROOT, 'deploy/Dockerfile.dockerignore'));
    assert.ok(!ignored.some((r) => r.test(entry[1]!)), `${entry[1]} is .dockerignored`);
    // Production install: no devDependencies, and the `node` package's binary download is skipped.
    const install = ins.find((i) => i.op === 'RUN' && i.args.includes('npm ci'));
    assert.match(install?.args ?? '', /--omit=dev/);
    assert.match(install?.args ?? '', /--ignore-scripts/);
  });

  test("deploy/Dockerfile: the manifests stage copies every workspace's package.json, so npm ci finds them all", () => {
    const ins = dockerInstructions(readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8'));
    const first = ins.findIndex((i) => i.op === 'FROM');
    const manifests = ins.slice(
      first,
      ins.findIndex((i, n) => n > first && i.op === 'FROM'),
    );
    const copied = manifests.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/)[0]!);
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
    for (const pattern of root.workspaces) {
      const dirs = pattern.endsWith('/*')
        ? readdirSync(join(ROOT, pattern.slice(0, -2))).map((d) => `${pattern.slice(0, -2)}/${d}`)
        : [pattern];
      for (const dir of dirs) {
        const manifest = `${dir}/package.json`;
        assert.ok(
          copied.some((src) => manifest === src || manifest.startsWith(`${src}/`)),
          `${manifest} is not copied into the manifests stage`,
        );
      }
    }
  });

  test('--ignore-scripts drops no install script the image needs', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const scripted = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript && !p.dev)
      .map(([path]) => path);
    // `node` is the runtime, run from the image's own Node instead; protobufjs's script (under @grpc/grpc-js) only
    // warns about its CLI's versions. (@bufbuild/buf has one too, but it is for tests: not in the image.)
    assert.deepEqual(scripted.sort(), ['node_modules/node', 'node_modules/protobufjs']);
  });
});

describe('deploy config files', () => {
  const files = readdirSync(join(ROOT, 'deploy')).filter((f) => /\.ya?ml$/.test(f));

  for (const file of files) {
    test(`deploy/${file} parses and validates with zero errors`, () => {
      const { resources, errors } = parseDocuments(readFileSync(join(ROOT, 'deploy', file), 'utf8'), file);
      assert.deepEqual(errors, []);
      assert.ok(resources.length > 0);
    });
  }

  test('compose-example.yaml routes to Services whose endpoints are compose services on exposed ports', () => {
    const all: Resource[] = [];
    for (const file of ['example.yaml', 'compose-example.yaml'])
      all.push(...parseDocuments(readFileSync(join(ROOT, 'deploy', file), 'utf8'), file).resources);
    const serviceNames = new Set(all.filter((r) => r.kind === 'Service').map((r) => r.metadata.name));
    for (const r of all) {
      if (r.kind !== 'Route') continue;
      // kind Echo is built into the proxy: no Service behind it.
      for (const rule of r.spec.rules)
        for (const ref of rule.backendRefs ?? [])
          if (ref.kind !== 'Echo')
            assert.ok(serviceNames.has(ref.name), `Route ${r.metadata.name} -> unknown Service ${ref.name}`);
    }
    const composeExample = parseDocuments(readFileSync(join(ROOT, 'deploy/compose-example.yaml'), 'utf8')).resources;
    let endpoints = 0;
    for (const r of composeExample) {
      if (r.kind !== 'Service') continue;
      for (const e of r.spec.endpoints) {
        const target = compose.services[e.address];
        assert.ok(target, `Service ${r.metadata.name}: ${e.address} is not a compose service`);
        const exposed = [...(target.expose ?? []), ...(target.ports ?? [])].map((p) => String(p).split(':').pop());
        assert.ok(exposed.includes(String(e.port)), `${e.address} does not expose ${e.port}`);
        endpoints++;
      }
    }
    assert.ok(endpoints > 0);
  });

  test('deploy/nats.conf is accepted by nats-server and enables JetStream', () => {
    const conf = join(ROOT, 'deploy/nats.conf');
    // -t checks the file and exits; it reports on stderr.
    const r = spawnSync(findNatsServer(), ['-c', conf, '-t'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /is valid/);
    assert.match(readFileSync(conf, 'utf8'), /^jetstream\s*\{/m);
    const natsMount = compose.services.nats?.volumes?.find(
      (v) => typeof v === 'string' && v.startsWith('./deploy/nats.conf:'),
    );
    assert.ok(natsMount, 'compose mounts deploy/nats.conf into nats');
    const target = String(natsMount).split(':')[1];
    assert.ok(argv(compose.services.nats?.command).includes(target!), 'nats is started with the mounted config');
  });
});

describe('example backend (e2e/examples/hello)', () => {
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill();
  });

  test('serves /healthz and echoes requests; the compose healthcheck command passes against it', async () => {
    child = spawn(process.execPath, [join(ROOT, 'e2e/examples/hello/server.ts')], {
      env: { ...process.env, PORT: '0', NAME: 'hello-test' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((res, rej) => {
      let text = '';
      child!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        const m = text.match(/listening on :(\d+)/);
        if (m) res(Number(m[1]));
      });
      child!.once('exit', (code) => rej(new Error(`hello exited with ${code}`)));
    });
    const echo = (await (await fetch(`http://127.0.0.1:${port}/some/path?q=1`)).json()) as Record<string, unknown>;
    assert.equal(echo.service, 'hello-test');
    assert.equal(echo.url, '/some/path?q=1');
    assert.equal(echo.method, 'GET');

    const test = compose.services.hello!.healthcheck!.test as string[];
    const script = test[test.indexOf('-e') + 1]!.replace('127.0.0.1:8000', `127.0.0.1:${port}`);
    assert.notEqual(script, test[test.indexOf('-e') + 1], 'healthcheck targets port 8000');
    await new Promise<void>((res, rej) => {
      const hc = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
      hc.once('exit', (code) => (code === 0 ? res() : rej(new Error(`healthcheck exited ${code}`))));
    });
    // And it fails when nothing answers, so it can report an unhealthy backend.
    child.kill();
    await new Promise((r) => child!.once('exit', r));
    const code = await new Promise<number | null>((res) => {
      spawn(process.execPath, ['-e', script], { stdio: 'ignore' }).once('exit', res);
    });
    assert.equal(code, 1);
    child = undefined;
  });
});
