/**
 * A FileRegistry from a serialized google.protobuf.FileDescriptorSet (`buf build -o x.binpb`, `protoc
 * --descriptor_set_out --include_imports`). Options (google.api.http and any other) stay on the descriptors.
 */
import { type FileRegistry, fromBinary } from '@bufbuild/protobuf';
import { type FileDescriptorSet, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { GrpcDescriptorSetError } from './errors.ts';
import { LinkError, registryFromFiles } from './link-files.ts';

export function registryFromDescriptorSet(bytes: Uint8Array): FileRegistry {
  let set: FileDescriptorSet;
  try {
    set = fromBinary(FileDescriptorSetSchema, bytes);
  } catch (error) {
    throw new GrpcDescriptorSetError(
      `${bytes.byteLength} bytes do not decode as one: ${(error as Error).message}`,
      error,
    );
  }
  if (set.file.length === 0) throw new GrpcDescriptorSetError('it holds no files');
  // Bytes that happen to parse (a text file, another message) decode to files with no name.
  const unnamed = set.file.findIndex((file) => file.name === '');
  if (unnamed >= 0) throw new GrpcDescriptorSetError(`file ${unnamed} has no name: these are not descriptor-set bytes`);
  try {
    return registryFromFiles(set.file);
  } catch (error) {
    if (!(error instanceof LinkError)) throw error;
    throw new GrpcDescriptorSetError(
      `${error.message} (build it with its imports: buf build, or protoc --include_imports)`,
      error,
    );
  }
}
