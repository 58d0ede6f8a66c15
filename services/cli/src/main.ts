/** `portico <command>`: parses arguments, runs the command, maps errors to messages and exit codes. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { isPorticoError } from '@portico/errors';
import { applyCommand, deleteCommand, getCommand, schemaCommand, validateCommand } from './commands/config-commands.ts';
import { CliUsageError } from './errors.ts';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import { formatError } from './load.ts';
import { type Output, processOutput } from './output.ts';
import { parseProxyTuning } from './proxy-options.ts';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** Where the servers listen unless a flag says otherwise: the proxy on every interface, the admin API on loopback. */
const LISTEN_DEFAULTS = {
  proxyPort: 8080,
  proxyHost: '0.0.0.0',
  adminPort: 9901,
  // The syncer's own admin port (/metrics, /healthz) differs so it can share a host with a proxy.
  syncerAdminPort: 9902,
  adminHost: '127.0.0.1',
  // The transcoder is an internal hop beside a front proxy: its own ports, loopback unless told otherwise.
  transcoderPort: 8081,
  transcoderHost: '127.0.0.1',
  transcoderAdminPort: 9903,
};

const HELP = { help: { type: 'boolean', short: 'h' } } as const;
const REMOTE = { server: { type: 'string' }, nats: { type: 'string' } } as const;
const FILES = { file: { type: 'string', short: 'f', multiple: true } } as const;
const SERVE = {
  config: { type: 'string' },
  'proxy-port': { type: 'string' },
  'proxy-host': { type: 'string' },
  'trusted-proxies': { type: 'string' },
  'proxy-option': { type: 'string', multiple: true },
  'admin-allowed-host': { type: 'string', multiple: true },
  'admin-port': { type: 'string' },
  'admin-host': { type: 'string' },
  'tls-port': { type: 'string' },
  nats: { type: 'string' },
  'log-level': { type: 'string' },
  workers: { type: 'string' },
  transcoder: { type: 'string' },
} as const;

const COMMAND_OPTIONS: Record<string, Options> = {
  validate: { ...HELP, ...FILES },
  apply: { ...HELP, ...FILES, ...REMOTE },
  get: { ...HELP, ...REMOTE, output: { type: 'string', short: 'o' } },
  delete: { ...HELP, ...REMOTE },
  schema: { ...HELP },
  standalone: { ...HELP, ...SERVE },
  'front-proxy': { ...HELP, ...SERVE },
  transcoder: {
    ...HELP,
    nats: SERVE.nats,
    'proxy-port': SERVE['proxy-port'],
    'proxy-host': SERVE['proxy-host'],
    'admin-port': SERVE['admin-port'],
    'admin-host': SERVE['admin-host'],
    'log-level': SERVE['log-level'],
  },
  'discovery-syncer': {
    ...HELP,
    nats: SERVE.nats,
    'admin-port': SERVE['admin-port'],
    'admin-host': SERVE['admin-host'],
    'log-level': SERVE['log-level'],
    // Parsed so that it is refused with a reason: this mode runs no proxy.
    workers: SERVE.workers,
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function port(flag: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new CliUsageError(`--${flag} must be a port number 0-65535, got "${value}"`);
  return n;
}

function host(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !/^[0-9A-Za-z.:%_-]+$/.test(value))
    throw new CliUsageError(`--${flag} must be an IP address or a host name, got "${value}"`);
  return value;
}

/** Flags win over environment; an empty variable counts as unset. */
function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    out.out(topic !== undefined && COMMAND_HELP[topic] !== undefined ? COMMAND_HELP[topic] : MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    out.out(version());
    return 0;
  }
  const options = COMMAND_OPTIONS[command];
  if (options === undefined) {
    out.err(`portico: unknown command "${command}"\nRun "portico --help" for the list of commands.`);
    return 2;
  }

  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliUsageError((err as Error).message);
    }
    const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
    const s = (name: string) => v[name] as string | undefined;
    if (v.help === true) {
      out.out(COMMAND_HELP[command]!);
      return 0;
    }
    const positionals = parsed.positionals;
    const noPositionals = () => {
      if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    };
    const remote = {
      server: s('server'),
      nats: s('nats') ?? (s('server') === undefined ? env('PORTICO_NATS_URL') : undefined),
    };

    switch (command) {
      case 'validate':
        noPositionals();
        return validateCommand(v.file as string[] | undefined, out);
      case 'apply':
        noPositionals();
        return await applyCommand(v.file as string[] | undefined, remote, out);
      case 'get':
        return await getCommand(positionals, s('output'), remote, out);
      case 'delete':
        return await deleteCommand(positionals, remote, out);
      case 'schema':
        noPositionals();
        return schemaCommand(out);
      default: {
        noPositionals();
        // Loaded on demand: validate and friends should not pay for the proxy's start-up imports.
        const { serveUntilSignal } = await import('./commands/serve.ts');
        return await serveUntilSignal(
          {
            mode: command as 'standalone' | 'front-proxy' | 'discovery-syncer' | 'transcoder',
            config: s('config') ?? env('PORTICO_CONFIG'),
            nats: s('nats') ?? env('PORTICO_NATS_URL'),
            proxyPort: port(
              'proxy-port',
              s('proxy-port'),
              command === 'transcoder' ? LISTEN_DEFAULTS.transcoderPort : LISTEN_DEFAULTS.proxyPort,
            )!,
            proxyHost:
              host('proxy-host', s('proxy-host')) ??
              (command === 'transcoder' ? LISTEN_DEFAULTS.transcoderHost : LISTEN_DEFAULTS.proxyHost),
            adminPort: port(
              'admin-port',
              s('admin-port'),
              command === 'discovery-syncer'
                ? LISTEN_DEFAULTS.syncerAdminPort
                : command === 'transcoder'
                  ? LISTEN_DEFAULTS.transcoderAdminPort
                  : LISTEN_DEFAULTS.adminPort,
            )!,
            adminHost: host('admin-host', s('admin-host')) ?? LISTEN_DEFAULTS.adminHost,
            tlsPort: port('tls-port', s('tls-port'), undefined),
            logLevel: s('log-level') ?? 'info',
            workers: workerCount(s('workers')),
            proxyTuning: parseProxyTuning(
              (v['proxy-option'] as string[] | undefined) ?? [],
              s('trusted-proxies'),
              s('transcoder'),
            ),
            adminAllowedHosts: (v['admin-allowed-host'] as string[] | undefined) ?? [],
          },
          out,
        );
      }
    }
  } catch (err) {
    return report(err, command, out);
  }
}

function workerCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value === 'auto' ? availableParallelism() : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new CliUsageError(`--workers must be a whole number from 1 to 256 or "auto", got "${value}"`);
  return n;
}

function report(err: unknown, command: string, out: Output): number {
  if (err instanceof CliUsageError) {
    out.err(`portico ${command}: ${err.message}\nRun "portico ${command} --help" for usage.`);
    return 2;
  }
  if (isPorticoError(err)) {
    out.err(`portico ${command}: ${err.message}`);
    // ConfigInvalidError's message already lists the details; others may carry more.
    if (err.code !== 'PORTICO_ERR_CONFIG_INVALID') for (const d of err.details) out.err(`  ${formatError(d)}`);
    return 1;
  }
  out.err(`portico ${command}: ${(err as Error)?.stack ?? String(err)}`);
  return 1;
}
