/** The admin API as a service of the one contract (@portico/runtime): what a CLI mode lists. */
import type { RunningService, Service } from '@portico/runtime';
import { type AdminApiOptions, startAdminApi } from './admin-api.ts';

/**
 * The API's own settings; bus, logger and the Prometheus registry come from the shared deps. `isReady` is what
 * /readyz answers: the composition passes the readiness of the services beside this one.
 */
export type AdminApiServiceOptions = Omit<AdminApiOptions, 'bus' | 'logger' | 'registry'>;

export interface RunningAdminApi extends RunningService {
  readonly port: number;
}

export const adminApiService: Service<AdminApiServiceOptions, RunningAdminApi> = {
  name: 'admin-api',
  async start({ bus, logger, registry, metrics: _metrics, ...options }) {
    const api = await startAdminApi({ ...options, bus, logger, registry });
    let closing: Promise<void> | undefined;
    return {
      port: api.port,
      ready: () => closing === undefined,
      close() {
        closing ??= api.close();
        return closing;
      },
    };
  },
};
