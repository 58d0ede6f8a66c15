export { ServiceStartError } from './errors.ts';
export type { RunningService, Service, ServiceDeps } from './service.ts';
export { type RunningServices, startServices } from './start-services.ts';
export { withOptions } from './with-options.ts';
