/**
 * A real DNS server per test: dnsmasq in the foreground on 127.0.0.1:<free port>, answering only for its local
 * domain (`test` by default: unknown names there are NXDOMAIN, everything else is REFUSED), every record with a
 * short TTL. A and AAAA records live in an `--addn-hosts` file, rewritten and reloaded with SIGHUP; SRV records
 * are `--srv-host` options, which dnsmasq reads only at start, so changing them restarts it on the same port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server.ts';
import { terminate } from './terminate.ts';

export interface SrvTarget {
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface DnsRecords {
  /** Name -> IPv4 and IPv6 addresses (A and AAAA records). */
  hosts?: Record<string, readonly string[]>;
  /** SRV name (`_http._tcp.orders.test`) -> records. */
  srv?: Record<string, readonly SrvTarget[]>;
}

export interface DnsmasqServer {
  port: number;
  /** `127.0.0.1:<port>`: what Resolver#setServers and a DNS Registry's `addresses` take. */
  address: string;
  /** Replaces every record; resolves once dnsmasq serves the new ones. */
  setRecords(records: DnsRecords): Promise<void>;
  /** SIGTERM and wait; start() brings it back on the same port with the same records. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface StartDnsmasqOptions {
  records?: DnsRecords;
  port?: number;
  /** The domain dnsmasq is authoritative for. */
  domain?: string;
  /** TTL of every record, seconds. */
  ttl?: number;
}

const BIN = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));
const INSTALL_HINT = 'dnsmasq not found: install it with `apt-get install dnsmasq-base`';
const READY_TIMEOUT_MS = 10_000;
const running = new Set<ChildProcess>();
const dirs = new Set<string>();

export async function startDnsmasq(opts: StartDnsmasqOptions = {}): Promise<DnsmasqServer> {
  if (BIN === undefined) throw new Error(INSTALL_HINT);
  const bin = BIN;
  const port = opts.port ?? (await freePort());
  const domain = opts.domain ?? 'test';
  const ttl = opts.ttl ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'portico-dnsmasq-'));
  // Run as root, dnsmasq drops to `nobody` and must still read the hosts file on SIGHUP.
  chmodSync(dir, 0o755);
  if (dirs.size === 0)
    process.once('exit', () => {
      for (const p of running) p.kill('SIGKILL');
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  dirs.add(dir);
  const hostsFile = join(dir, 'hosts');
  let records: DnsRecords = opts.records ?? {};
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let reads = 0;
  const readWaiters: Array<() => boolean> = [];

  const writeHosts = () => {
    const lines: string[] = [];
    for (const [name, addresses] of Object.entries(records.hosts ?? {}))
      for (const address of addresses) lines.push(`${address} ${name}`);
    writeFileSync(hostsFile, `${lines.join('\n')}\n`, { mode: 0o644 });
  };

  const waitForRead = (after: number) =>
    new Promise<void>((resolve, reject) => {
      if (reads > after) return resolve();
      const timer = setTimeout(() => reject(new Error(`dnsmasq did not reload ${hostsFile}: ${tail(log)}`)), 5000);
      readWaiters.push(() => {
        if (reads <= after) return false;
        clearTimeout(timer);
        resolve();
        return true;
      });
    });

  const start = async () => {
    writeHosts();
    const args = [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--pid-file=',
      '--no-resolv',
      '--no-hosts',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      `--local=/${domain}/`,
      `--local-ttl=${ttl}`,
      `--addn-hosts=${hostsFile}`,
      '--log-facility=-',
    ];
    for (const [name, targets] of Object.entries(records.srv ?? {}))
      for (const t of targets)
        args.push(`--srv-host=${name},${t.target},${t.port},${t.priority ?? 0},${t.weight ?? 0}`);
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(proc);
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      log = (log + s).slice(-8000);
      const n = s.split(`read ${hostsFile} `).length - 1;
      if (n === 0) return;
      reads += n;
      for (const w of [...readWaiters]) if (w()) readWaiters.splice(readWaiters.indexOf(w), 1);
    });
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', () => running.delete(proc));
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await answers(port, domain)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
    throw new Error(`dnsmasq on port ${port} did not become ready: ${tail(log)}`);
  };

  const stop = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    await terminate(proc, exited);
  };

  await start();
  return {
    port,
    address: `127.0.0.1:${port}`,
    async setRecords(next) {
      const srvChanged = JSON.stringify(next.srv ?? {}) !== JSON.stringify(records.srv ?? {});
      records = next;
      if (child === undefined) return writeHosts();
      if (srvChanged) {
        await stop();
        return start();
      }
      const before = reads;
      writeHosts();
      child.kill('SIGHUP');
      await waitForRead(before);
    },
    stop,
    start: async () => {
      if (child === undefined) await start();
    },
  };
}

/** Ready when it answers at all (NXDOMAIN for a name nobody defined counts). */
async function answers(port: number, domain: string): Promise<boolean> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  try {
    await resolver.resolve4(`portico-ready-probe.${domain}`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'ENOTFOUND' || code === 'ENODATA';
  }
}

function tail(log: string): string {
  return log.trim().split('\n').slice(-5).join(' | ');
}
