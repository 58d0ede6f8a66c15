/**
 * The one contract every Portico service keeps: `start(deps)` resolves once the service is serving and returns
 * `{ ready, close }`. A CLI mode is a list of services started in order over the same deps.
 */
import type { ConfigBus } from '@portico/bus';
import type { Logger, ProxyMetrics, Registry } from '@portico/observability';

/** What the composition root hands every service. */
export interface ServiceDeps {
  bus: ConfigBus;
  logger: Logger;
  /** The process's Prometheus registry (the admin API serves it). */
  registry: Registry;
  metrics: ProxyMetrics;
}

export interface RunningService {
  /** What /readyz asks: true once the service serves from current config, false again while it closes. */
  ready(): boolean;
  /** Stops taking work, drains what is in flight, releases everything. Idempotent. */
  close(): Promise<void>;
}

/**
 * A service: a name for logs and errors and a start function. `Options` are the service's own settings, passed
 * beside the shared deps; `R` is what it returns beyond the contract (a listener's port, for example).
 */
export interface Service<Options = object, R extends RunningService = RunningService> {
  readonly name: string;
  start(deps: ServiceDeps & Options): Promise<R>;
}
