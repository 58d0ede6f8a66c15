/** What `portico standalone | front-proxy | discovery-syncer` are started with, and what a started gateway is. */
import type { ProxyTuning } from '../proxy-options.ts';

export type Mode = 'standalone' | 'front-proxy' | 'discovery-syncer' | 'transcoder';

export interface ServeOptions {
  mode: Mode;
  config?: string | undefined;
  nats?: string | undefined;
  /** The proxy's port; the transcoder's in the transcoder mode. */
  proxyPort: number;
  /** The proxy's bind address (HTTP and TLS); the transcoder's in the transcoder mode. */
  proxyHost: string;
  adminPort: number;
  adminHost: string;
  tlsPort?: number | undefined;
  logLevel: string;
  /** --workers: proxy worker processes. Unset or 1 runs the proxy in this process; a mode without a proxy refuses it. */
  workers?: number | undefined;
  /** --trusted-proxies and --proxy-option values, checked by the proxy itself. */
  proxyTuning?: ProxyTuning | undefined;
  /** --admin-allowed-host: names the admin API answers besides loopback and its bound address. */
  adminAllowedHosts?: string[] | undefined;
}

export interface Running {
  /** The proxy's HTTP port; 0 in a mode without a proxy. */
  proxyPort: number;
  adminPort: number;
  close(): Promise<void>;
}
