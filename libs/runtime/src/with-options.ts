import type { RunningService, Service, ServiceDeps } from './service.ts';

/** A service with its own settings filled in: what a list of services holds (it needs only the shared deps). */
export function withOptions<Options extends object, R extends RunningService>(
  service: Service<Options, R>,
  options: Options,
): Service<object, R> {
  return { name: service.name, start: (deps: ServiceDeps) => service.start({ ...deps, ...options }) };
}
