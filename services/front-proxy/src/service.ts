/** The front proxy as a service of the one contract (@portico/runtime): what a CLI mode lists. */
import type { RunningService, Service } from '@portico/runtime';
import { type FrontProxy, type FrontProxyOptions, startFrontProxy } from './front-proxy.ts';

/** The proxy's own settings; bus, logger and metrics come from the shared deps. */
export type FrontProxyServiceOptions = Omit<FrontProxyOptions, 'bus' | 'logger' | 'metrics'>;

export interface RunningFrontProxy extends RunningService {
  readonly port: FrontProxy['port'];
  readonly tlsPort: FrontProxy['tlsPort'];
  /** The revision of the config the proxy routes by. */
  revision(): number;
}

export const frontProxyService: Service<FrontProxyServiceOptions, RunningFrontProxy> = {
  name: 'front-proxy',
  async start({ bus, logger, metrics, registry: _registry, ...options }) {
    const proxy = await startFrontProxy({ ...options, bus, logger, metrics });
    return {
      port: proxy.port,
      tlsPort: proxy.tlsPort,
      revision: () => proxy.revision(),
      ready: () => proxy.isReady(),
      close: () => proxy.close(),
    };
  },
};
