import type { Resource, Route, Service } from '@portico/config';
import type { ConfigState } from '../src/index.ts';

export function service(name: string, port = 80): Service {
  return {
    apiVersion: 'portico.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { endpoints: [{ address: '127.0.0.1', port }] },
  } as Service;
}

export function route(name: string, backend: string): Route {
  return {
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name },
    spec: { rules: [{ backendRefs: [{ name: backend }] }] },
  } as Route;
}

/** Records every state a listener gets. */
export function recorder() {
  const states: ConfigState[] = [];
  return {
    states,
    listener: (s: ConfigState) => {
      states.push(s);
    },
    get last(): ConfigState {
      const s = states.at(-1);
      if (s === undefined) throw new Error('no state yet');
      return s;
    },
  };
}

export function ports(r: Resource | undefined): number[] {
  if (r === undefined || r.kind !== 'Service') return [];
  return r.spec.endpoints.map((e) => e.port);
}
