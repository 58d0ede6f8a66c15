/**
 * Generates the Portico config the proxy bench loads: 1,000 Routes with varied hostnames, wildcard hosts,
 * exact, prefix and regex paths and header matches, all pointing at one Service (the bench backend).
 * The benched request matches route BENCH_INDEX, deep in the list, not the first.
 */
import { stringify } from 'yaml';

export const ROUTE_COUNT = 1000;
export const BENCH_INDEX = 736;
export const BENCH_HOST = `svc-${BENCH_INDEX}.bench.local`;
export const BENCH_PATH = `/api/svc-${BENCH_INDEX}/items`;
const SERVICE = 'bench-backend';

function route(i: number): unknown {
  const backendRefs = [{ name: SERVICE }];
  let spec: unknown;
  switch (i % 4) {
    case 0:
      spec = {
        hostnames: [`svc-${i}.bench.local`],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/api/svc-${i}` } }], backendRefs }],
      };
      break;
    case 1:
      spec = {
        hostnames: [`*.tenant-${i}.bench.local`],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs }],
      };
      break;
    case 2:
      spec = {
        rules: [
          { matches: [{ path: { type: 'Exact', value: `/exact/svc-${i}/health` }, method: 'GET' }], backendRefs },
        ],
      };
      break;
    default:
      spec = {
        hostnames: [`svc-${i}.bench.local`, `alt-${i}.bench.local`],
        rules: [
          {
            matches: [
              {
                path: { type: 'RegularExpression', value: `^/v2/svc-${i}/[0-9]+$` },
                headers: [{ name: 'x-tenant', value: `t-${i}` }],
              },
            ],
            backendRefs,
          },
        ],
      };
  }
  return { apiVersion: 'portico.dev/v1', kind: 'Route', metadata: { name: `route-${i}` }, spec };
}

/** Multi-document YAML: the Service, then ROUTE_COUNT Routes. */
export function porticoBenchConfig(backendPort: number): string {
  const docs: unknown[] = [
    {
      apiVersion: 'portico.dev/v1',
      kind: 'Service',
      metadata: { name: SERVICE },
      spec: { endpoints: [{ address: '127.0.0.1', port: backendPort }], connectionPool: { connections: 128 } },
    },
  ];
  for (let i = 0; i < ROUTE_COUNT; i++) docs.push(route(i));
  return docs.map((d) => stringify(d)).join('---\n');
}
