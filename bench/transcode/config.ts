/**
 * The Portico config the transcode bench loads: one Service `protocol: grpc` at the bench backend (descriptors by
 * its server reflection) and one Route, matching every path, whose backendRef is that Service as kind Grpc.
 */
import { stringify } from 'yaml';

export const SAY_PATH = '/portico.test.Echo/Say';
export const COUNT_PATH = '/portico.test.Echo/Count';
/** The unary payload, the same message for both sides: proto3 JSON through Portico, binary to the backend. */
export const SAY_MESSAGE = 'hello from the transcode bench';

export function transcodeBenchConfig(backendPort: number): string {
  const docs = [
    {
      apiVersion: 'portico.dev/v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { protocol: 'grpc', endpoints: [{ address: '127.0.0.1', port: backendPort }] },
    },
    {
      apiVersion: 'portico.dev/v1',
      kind: 'Route',
      metadata: { name: 'echo' },
      spec: { rules: [{ backendRefs: [{ kind: 'Grpc', name: 'echo' }] }] },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}
