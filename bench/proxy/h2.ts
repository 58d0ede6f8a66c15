/**
 * HTTP/2 against HTTP/1.1 through the same proxy, and the same through the Node floor, in interleaved rounds:
 * is Portico's h2c cost its own, or node:http2's? Each proxy is pinned alone to cpu 0; the load (wrk for HTTP/1.1,
 * h2load for h2c, both `--connections` connections with one request in flight each) and the backend share the last
 * cpu. Prints CPU µs per request from /proc and the h2c ÷ HTTP/1.1 ratio of each proxy, per round and median.
 *
 *   node bench/proxy/h2.ts [--rounds 5] [--duration 5] [--connections 50]      (needs wrk and h2load: nghttp2-client)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '@portico/testkit';
import { cpuCount, hasTaskset, pinned, spawnReady, treeCpuMicros } from '../lib/proc.ts';
import { median } from '../lib/stats.ts';
import { runWrk } from '../lib/wrk.ts';
import { BENCH_HOST, BENCH_PATH, porticoBenchConfig } from './portico-config.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const duration = Number(values.duration);
const connections = Number(values.connections);
if (cpuCount() < 2 || !hasTaskset) throw new Error('needs 2 cores and taskset');
const PROXY_CPU = '0';
const LOAD_CPU = String(cpuCount() - 1);
const out = (line = ''): boolean => process.stdout.write(`${line}\n`);

/** h2load, one stream per connection (the same concurrency as wrk -c): completed requests. */
function runH2load(url: string, sec: number): Promise<number> {
  const args = [
    '-c',
    String(connections),
    '-m',
    '1',
    '-D',
    String(sec),
    '--warm-up-time',
    '1',
    '-H',
    // h2load sends :authority from the URL; overriding it (not adding a Host that disagrees) names the route's host.
    `:authority: ${BENCH_HOST}`,
  ];
  const [cmd, argv] = pinned(LOAD_CPU, 'h2load', [...args, url]);
  return new Promise((res, rej) =>
    execFile(cmd, argv, { encoding: 'utf8', timeout: (sec + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return rej(new Error(`h2load failed (apt-get install nghttp2-client): ${err.message} ${stderr}`));
      const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(stdout);
      if (!done) return rej(new Error(`unexpected h2load output: ${stdout.slice(0, 400)}`));
      if (done[1] !== done[2]) return rej(new Error(`h2load: ${done[1]} done but ${done[2]} succeeded`));
      res(Number(done[2]));
    }),
  );
}

interface Proxy {
  name: string;
  pid: number;
  h1: string;
  h2: string;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const [bcmd, bargs] = pinned(LOAD_CPU, process.execPath, [join(HERE, 'backend.ts'), '0']);
  const backend = await spawnReady(bcmd, bargs, /READY (\d+)/);
  const backendOrigin = `http://127.0.0.1:${backend.match[1]}`;
  const floor = async (h2c: boolean) => {
    const argv = [join(HERE, 'undici-proxy.ts'), backendOrigin, '0', ...(h2c ? ['--h2c'] : [])];
    const [cmd, args] = pinned(PROXY_CPU, process.execPath, argv);
    return spawnReady(cmd, args, /READY (\d+)/);
  };
  const f1 = await floor(false);
  const f2 = await floor(true);
  const dir = join(tmpdir(), `portico-h2-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'portico-bench.yaml');
  writeFileSync(config, porticoBenchConfig(Number(backend.match[1])));
  const cli = [join(ROOT, 'services/cli/bin/portico.js'), 'standalone', '--config', config, '--log-level', 'warn'];
  cli.push('--proxy-port', String(await freePort()), '--admin-port', String(await freePort()));
  const [pcmd, pargs] = pinned(PROXY_CPU, process.execPath, cli);
  const portico = await spawnReady(pcmd, pargs, /portico listening: proxy http:\/\/[^\s:]+:(\d+)/, { cwd: ROOT });
  const porticoUrl = `http://127.0.0.1:${portico.match[1]}`;
  // The floor is two processes (node:http, node:http2); Portico serves both on one port.
  const proxies: Proxy[] = [
    { name: 'floor', pid: f1.child.pid!, h1: `http://127.0.0.1:${f1.match[1]}`, h2: '', stop: f1.stop },
    { name: 'portico', pid: portico.child.pid!, h1: porticoUrl, h2: porticoUrl, stop: portico.stop },
  ];
  const floorH2 = { pid: f2.child.pid!, url: `http://127.0.0.1:${f2.match[1]}` };

  const measure = async (pid: number, load: () => Promise<number>) => {
    const c0 = treeCpuMicros(pid);
    const requests = await load();
    return (treeCpuMicros(pid) - c0) / requests;
  };
  const h1Load = (url: string, sec: number) => async () =>
    (
      await runWrk({
        url: `${url}${BENCH_PATH}`,
        connections,
        durationSec: sec,
        headers: { Host: BENCH_HOST },
        cpus: LOAD_CPU,
      })
    ).requests;
  const h2Load = (url: string, sec: number) => () => runH2load(`${url}${BENCH_PATH}`, sec);

  out(`h2c vs HTTP/1.1, ${connections} connections x 1 request in flight, ${rounds} rounds x ${duration} s`);
  try {
    // Warm-up: JIT and pools of every path.
    for (const p of proxies) await h1Load(p.h1, 2)();
    await h2Load(floorH2.url, 2)();
    await h2Load(porticoUrl, 2)();
    const ratios: Record<string, number[]> = { floor: [], portico: [] };
    for (let r = 0; r < rounds; r++) {
      const cells: string[] = [];
      for (const p of r % 2 === 0 ? proxies : [...proxies].reverse()) {
        const h1 = await measure(p.pid, h1Load(p.h1, duration));
        const h2 =
          p.name === 'floor'
            ? await measure(floorH2.pid, h2Load(floorH2.url, duration))
            : await measure(p.pid, h2Load(p.h2, duration));
        ratios[p.name]!.push(h2 / h1);
        cells.push(`${p.name} h1 ${h1.toFixed(1)} h2c ${h2.toFixed(1)} us/req (x${(h2 / h1).toFixed(2)})`);
      }
      out(`round ${r + 1}: ${cells.join(' | ')}`);
    }
    out();
    for (const [name, list] of Object.entries(ratios))
      out(`${name.padEnd(8)} h2c CPU/req ÷ HTTP/1.1 CPU/req: median ${median(list).toFixed(3)}`);
  } finally {
    await Promise.all([...proxies.map((p) => p.stop()), f2.stop(), backend.stop()]);
  }
}

await main();
