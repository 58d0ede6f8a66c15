/**
 * `--trusted-proxies` and `--proxy-option NAME=VALUE`: the front proxy's edge settings from the command line. The
 * proxy checks every value itself (startFrontProxy throws naming the option); this only knows names and types.
 */
import type { FrontProxyOptions } from '@portico/front-proxy';
import { CliUsageError } from './errors.ts';

/** What the CLI passes on to startFrontProxy (plain JSON, so it also travels to --workers processes). */
export type ProxyTuning = Pick<
  FrontProxyOptions,
  | 'trustedProxies'
  | 'pathPolicy'
  | 'maxBodyBytes'
  | 'maxHeaderBytes'
  | 'headersTimeoutMs'
  | 'requestTimeoutMs'
  | 'keepAliveTimeoutMs'
  | 'idleTimeoutMs'
  | 'http2MaxConcurrentStreams'
  | 'http2SessionIdleTimeoutMs'
  | 'http2StreamIdleTimeoutMs'
  | 'http2StreamResetBurst'
  | 'http2StreamResetRate'
  | 'http2MaxSessionMemoryMb'
  | 'tlsMinVersion'
  | 'transcoder'
>;

const NUMERIC = [
  'maxBodyBytes',
  'maxHeaderBytes',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
  'idleTimeoutMs',
  'http2MaxConcurrentStreams',
  'http2SessionIdleTimeoutMs',
  'http2StreamIdleTimeoutMs',
  'http2StreamResetBurst',
  'http2StreamResetRate',
  'http2MaxSessionMemoryMb',
] as const;
const PATH_CHOICES = {
  escapedSlashes: ['reject', 'keep', 'unescape'],
  semicolons: ['keep', 'reject'],
  mergeSlashes: ['true', 'false'],
} as const;

export const PROXY_OPTION_NAMES: readonly string[] = [...NUMERIC, 'tlsMinVersion', ...Object.keys(PATH_CHOICES)];

export function parseProxyTuning(
  options: readonly string[],
  trustedProxies: string | undefined,
  transcoder?: string,
): ProxyTuning {
  const tuning: ProxyTuning = {};
  if (transcoder !== undefined) tuning.transcoder = transcoder;
  if (trustedProxies !== undefined)
    tuning.trustedProxies = trustedProxies
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (const option of options) {
    const eq = option.indexOf('=');
    const name = eq === -1 ? option : option.slice(0, eq);
    const value = eq === -1 ? '' : option.slice(eq + 1);
    if (eq === -1 || value === '') throw new CliUsageError(`--proxy-option takes NAME=VALUE, got "${option}"`);
    if ((NUMERIC as readonly string[]).includes(name)) {
      if (!/^\d+$/.test(value))
        throw new CliUsageError(`--proxy-option ${name} must be a whole number, got "${value}"`);
      tuning[name as (typeof NUMERIC)[number]] = Number(value);
    } else if (name === 'tlsMinVersion') {
      if (value !== 'TLSv1.2' && value !== 'TLSv1.3')
        throw new CliUsageError(`--proxy-option tlsMinVersion must be TLSv1.2 or TLSv1.3, got "${value}"`);
      tuning.tlsMinVersion = value;
    } else if (name in PATH_CHOICES) {
      const choices: readonly string[] = PATH_CHOICES[name as keyof typeof PATH_CHOICES];
      if (!choices.includes(value))
        throw new CliUsageError(`--proxy-option ${name} must be one of ${choices.join(', ')}, got "${value}"`);
      const policy = { ...tuning.pathPolicy };
      if (name === 'mergeSlashes') policy.mergeSlashes = value === 'true';
      else if (name === 'escapedSlashes') policy.escapedSlashes = value as 'reject' | 'keep' | 'unescape';
      else policy.semicolons = value as 'keep' | 'reject';
      tuning.pathPolicy = policy;
    } else {
      throw new CliUsageError(`--proxy-option: unknown name "${name}"; known: ${PROXY_OPTION_NAMES.join(', ')}`);
    }
  }
  return tuning;
}
