export type { RunningService, Service, ServiceDeps } from './service.ts';
