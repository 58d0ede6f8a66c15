/**
 * Runs a list of services as one: starts them in order over the same deps and stops them in reverse order, so a
 * list puts what takes traffic after what reports on it (the proxy after the admin API: /readyz and /metrics
 * keep answering while the proxy drains).
 */
import { ServiceStartError } from './errors.ts';
import type { RunningService, Service, ServiceDeps } from './service.ts';

export interface RunningServices extends RunningService {
  /** True while every service reports ready; false from the moment close() is called. */
  ready(): boolean;
  /** What `service` (one of the list, by identity) returned from start. */
  get<R extends RunningService>(service: Service<object, R>): R;
}

/**
 * Starts `services` one after the other. If one fails, the ones already started are closed in reverse order and
 * a ServiceStartError naming the failed service is thrown. A close that fails is logged and the rest still close.
 */
export async function startServices(
  services: readonly Service<object, RunningService>[],
  deps: ServiceDeps,
): Promise<RunningServices> {
  if (new Set(services).size !== services.length) throw new TypeError('services must not list a service twice');
  const started = new Map<Service<object, RunningService>, RunningService>();
  const closeStarted = async () => {
    for (const [service, running] of [...started].reverse()) {
      try {
        await running.close();
      } catch (err) {
        deps.logger.error({ err, service: service.name }, 'service failed to close');
      }
    }
  };

  for (const service of services) {
    try {
      started.set(service, await service.start(deps));
    } catch (err) {
      await closeStarted();
      throw new ServiceStartError(service.name, err);
    }
  }

  let closing: Promise<void> | undefined;
  let stopping = false;
  return {
    ready: () => !stopping && [...started.values()].every((s) => s.ready()),
    get<R extends RunningService>(service: Service<object, R>): R {
      const running = started.get(service);
      if (running === undefined) throw new TypeError(`${service.name} is not one of the services started`);
      return running as R;
    },
    close() {
      stopping = true;
      closing ??= closeStarted();
      return closing;
    },
  };
}
