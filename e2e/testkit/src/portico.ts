/** Starts the real `portico` binary as a child process and waits until it says it listens. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PORTICO_BIN = resolve(fileURLToPath(import.meta.url), '../../../../services/cli/bin/portico.js');

export interface PorticoProcess {
  proxyUrl: string;
  adminUrl: string;
  proxyPort: number;
  adminPort: number;
  tlsPort: number | undefined;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<number | null>;
}

export interface StartPorticoOptions {
  /** YAML text written to a temp file and passed as --config. */
  config?: string;
  /** Extra arguments after `standalone` (e.g. ['--nats', url]). */
  args?: string[];
  command?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export function writeTempConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portico-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

export async function startPortico(opts: StartPorticoOptions = {}): Promise<PorticoProcess> {
  const args = [
    PORTICO_BIN,
    opts.command ?? 'standalone',
    '--proxy-port',
    '0',
    '--admin-port',
    '0',
    ...(opts.args ?? []),
  ];
  if (opts.config !== undefined) args.push('--config', writeTempConfig(opts.config));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const ready = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`portico did not start in time:\n${out}`)),
      opts.timeoutMs ?? 20_000,
    );
    const check = () => {
      const m = out.match(
        /portico listening: proxy http:\/\/[^:]+:(\d+)(?: https:\/\/[^:]+:(\d+))? admin http:\/\/[^:]+:(\d+)/,
      );
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portico exited with ${code} before listening:\n${out}`));
    });
  });
  const proxyPort = Number(ready[1]);
  const adminPort = Number(ready[3]);
  return {
    proxyPort,
    adminPort,
    tlsPort: ready[2] === undefined ? undefined : Number(ready[2]),
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolveStop) => {
        if (child.exitCode !== null) return resolveStop(child.exitCode);
        child.once('exit', (code) => resolveStop(code));
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
