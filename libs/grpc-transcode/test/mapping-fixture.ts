/** The test protos of the mapping tests, compiled by buf, as a registry. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileRegistry, type DescService, fromBinary, type Registry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { protoDescriptorSet } from '@portico/testkit';

const PROTOS = join(dirname(fileURLToPath(import.meta.url)), 'protos');

export async function mappingRegistry(file = 'mapping/library.proto'): Promise<Registry> {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, await protoDescriptorSet(PROTOS, [file])));
}

export function serviceOf(registry: Registry, typeName: string): DescService {
  const service = registry.getService(typeName);
  if (!service) throw new Error(`${typeName} is not in the registry`);
  return service;
}
