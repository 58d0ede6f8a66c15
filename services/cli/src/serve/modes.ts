/**
 * A mode is a list of services. Each runs its services in the order listed and stops them in reverse, so the
 * proxy (last) drains first while the admin API still answers /readyz and /metrics. `--workers` swaps the
 * in-process proxy for proxy worker processes and changes nothing else.
 */
import { type AdminApiServiceOptions, adminApiService, type RunningAdminApi } from '@portico/admin-api';
import { discoverySyncerService } from '@portico/discovery-syncer';
import { frontProxyService } from '@portico/front-proxy';
import { type RunningService, type Service, ServiceStartError, withOptions } from '@portico/runtime';
import { transcoderService } from '@portico/transcoder';
import { CliUsageError } from '../errors.ts';
import { adminListenError, proxyListenError } from './listen.ts';
import type { Mode, ServeOptions } from './options.ts';
import { proxyWorkersService } from './proxy-workers.ts';

type Part = 'discovery-syncer' | 'admin-api' | 'proxy' | 'transcoder';

export const MODE_SERVICES: Record<Mode, readonly Part[]> = {
  standalone: ['discovery-syncer', 'admin-api', 'proxy'],
  'front-proxy': ['admin-api', 'proxy'],
  'discovery-syncer': ['discovery-syncer', 'admin-api'],
  transcoder: ['admin-api', 'transcoder'],
};

export function runsProxy(mode: Mode): boolean {
  return MODE_SERVICES[mode].includes('proxy');
}

/** More than one worker process runs the proxy; unset or 1 runs it in this process. */
export function usesWorkers(opts: ServeOptions): boolean {
  return (opts.workers ?? 1) > 1;
}

/** Refuses what a mode cannot do, before anything starts. */
export function checkMode(opts: ServeOptions): void {
  if (opts.workers !== undefined && !runsProxy(opts.mode))
    throw new CliUsageError(`--workers sets how many processes run the proxy; ${opts.mode} runs no proxy`);
  if (opts.mode !== 'standalone' && opts.nats === undefined)
    throw new CliUsageError(`${opts.mode} needs --nats URL (or PORTICO_NATS_URL)`);
}

export interface ProxyPorts extends RunningService {
  readonly port: number;
  readonly tlsPort: number | undefined;
}

export interface ModeServices {
  /** In start order. */
  list: Service<object, RunningService>[];
  admin: Service<object, RunningAdminApi>;
  proxy: Service<object, ProxyPorts> | undefined;
  transcoder: Service<object, RunningService & { port: number }> | undefined;
}

/** The mode's services with their settings; `isReady` is what the admin API's /readyz answers. */
export function modeServices(opts: ServeOptions, isReady: AdminApiServiceOptions['isReady']): ModeServices {
  const admin = withOptions(adminApiService, {
    port: opts.adminPort,
    host: opts.adminHost,
    allowedHosts: opts.adminAllowedHosts ?? [],
    isReady,
  });
  const tlsPort = opts.tlsPort === undefined ? {} : { tlsPort: opts.tlsPort };
  const proxy = !runsProxy(opts.mode)
    ? undefined
    : usesWorkers(opts)
      ? withOptions(proxyWorkersService, {
          workers: opts.workers!,
          port: opts.proxyPort,
          host: opts.proxyHost,
          ...tlsPort,
          logLevel: opts.logLevel,
          tuning: opts.proxyTuning,
        })
      : withOptions(frontProxyService, { port: opts.proxyPort, host: opts.proxyHost, ...tlsPort, ...opts.proxyTuning });
  const transcoder =
    opts.mode === 'transcoder'
      ? withOptions(transcoderService, { port: opts.proxyPort, host: opts.proxyHost })
      : undefined;
  const parts: Record<Part, Service<object, RunningService> | undefined> = {
    'discovery-syncer': discoverySyncerService,
    'admin-api': admin,
    proxy,
    transcoder,
  };
  return { list: MODE_SERVICES[opts.mode].map((p) => parts[p]!), admin, proxy, transcoder };
}

/** A service's failed start as the CLI explains it: a bind failure in one line naming the flag to change. */
export function explainStartFailure(err: unknown, opts: ServeOptions): unknown {
  if (!(err instanceof ServiceStartError)) return err;
  if (
    err.service === frontProxyService.name ||
    err.service === proxyWorkersService.name ||
    err.service === transcoderService.name
  )
    return proxyListenError(err.cause, opts);
  if (err.service === adminApiService.name) return adminListenError(err.cause);
  return err.cause;
}
