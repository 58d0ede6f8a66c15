/**
 * The listeners a mode opens, as the user names them: ports that clash, bind failures mapped to the one line
 * that names the flag to change, and the URLs the banner prints.
 */
import { CliListenError, CliUsageError, type ListenerName } from '../errors.ts';
import type { ServeOptions } from './options.ts';

const PROXY: ListenerName = { name: 'proxy', portFlag: '--proxy-port', hostFlag: '--proxy-host' };
const TLS: ListenerName = { name: 'tls', portFlag: '--tls-port', hostFlag: '--proxy-host' };
const ADMIN: ListenerName = { name: 'admin', portFlag: '--admin-port', hostFlag: '--admin-host' };

/** Two listeners on one port would fail as "in use" while naming the wrong one: refuse it as a usage error. */
export function checkPorts(opts: ServeOptions, runsProxy: boolean): void {
  const ports: Array<[string, number | undefined]> = [
    ['--proxy-port', runsProxy ? opts.proxyPort : undefined],
    ['--tls-port', opts.tlsPort],
    ['--admin-port', opts.adminPort],
  ];
  for (const [i, [flag, port]] of ports.entries())
    for (const [other, otherPort] of ports.slice(i + 1))
      if (port !== undefined && port !== 0 && port === otherPort)
        throw new CliUsageError(`${flag} and ${other} are both ${port}; each listener needs its own port`);
}

/** Maps a failed start of the proxy's listeners to the one-line error naming the flag to change. */
export function proxyListenError(err: unknown, opts: Pick<ServeOptions, 'tlsPort'>): unknown {
  // The front proxy names a bad --proxy-option or --trusted-proxies value in a TypeError.
  if (err instanceof TypeError) return new CliUsageError(err.message);
  if (!CliListenError.explains(err)) return err;
  const tls = opts.tlsPort !== undefined && opts.tlsPort !== 0 && err.port === opts.tlsPort;
  return new CliListenError(err, tls ? TLS : PROXY, err);
}

export function adminListenError(err: unknown): unknown {
  return CliListenError.explains(err) ? new CliListenError(err, ADMIN, err) : err;
}

/** A URL for the banner: the address actually bound (0.0.0.0 means every interface), IPv6 in brackets. */
export function listenUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
