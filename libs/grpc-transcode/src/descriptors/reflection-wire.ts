/**
 * The messages of grpc.reflection.v1 (and v1alpha, the same wire format) that a client needs, encoded and decoded
 * by hand: field numbers from grpc/reflection/v1/reflection.proto.
 *
 * ServerReflectionRequest: host=1, file_by_filename=3, file_containing_symbol=4, list_services=7.
 * ServerReflectionResponse: file_descriptor_response=4 {file_descriptor_proto=1 repeated bytes},
 * list_services_response=6 {service=1 repeated ServiceResponse {name=1}}, error_response=7 {error_code=1,
 * error_message=2}.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

export type ReflectionRequest =
  | { kind: 'listServices' }
  | { kind: 'fileContainingSymbol'; symbol: string }
  | { kind: 'fileByFilename'; filename: string };

export type ReflectionResponse =
  | { kind: 'listServices'; services: string[] }
  | { kind: 'files'; files: Uint8Array[] }
  | { kind: 'error'; code: number; message: string }
  /** An answer this client never asks for (all_extension_numbers_response). */
  | { kind: 'other' };

export function encodeReflectionRequest(request: ReflectionRequest): Uint8Array {
  const writer = new BinaryWriter();
  switch (request.kind) {
    case 'listServices':
      writer.tag(7, WireType.LengthDelimited).string('*');
      break;
    case 'fileContainingSymbol':
      writer.tag(4, WireType.LengthDelimited).string(request.symbol);
      break;
    case 'fileByFilename':
      writer.tag(3, WireType.LengthDelimited).string(request.filename);
      break;
  }
  return writer.finish();
}

export function decodeReflectionResponse(bytes: Uint8Array): ReflectionResponse {
  const reader = new BinaryReader(bytes);
  let answer: ReflectionResponse = { kind: 'other' };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 4 && wireType === WireType.LengthDelimited)
      answer = { kind: 'files', files: fileDescriptors(reader.bytes()) };
    else if (field === 6 && wireType === WireType.LengthDelimited)
      answer = { kind: 'listServices', services: serviceNames(reader.bytes()) };
    else if (field === 7 && wireType === WireType.LengthDelimited) answer = errorResponse(reader.bytes());
    else reader.skip(wireType, field);
  }
  return answer;
}

function fileDescriptors(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wireType, field);
  }
  return files;
}

function serviceNames(bytes: Uint8Array): string[] {
  const reader = new BinaryReader(bytes);
  const names: string[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) names.push(stringField(reader.bytes(), 1));
    else reader.skip(wireType, field);
  }
  return names;
}

function errorResponse(bytes: Uint8Array): ReflectionResponse {
  const reader = new BinaryReader(bytes);
  let code = 0;
  let message = '';
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) code = reader.int32();
    else if (field === 2 && wireType === WireType.LengthDelimited) message = reader.string();
    else reader.skip(wireType, field);
  }
  return { kind: 'error', code, message };
}

/** The string in field `want` of a small message (the last one wins, as protobuf merges). */
function stringField(bytes: Uint8Array, want: number): string {
  const reader = new BinaryReader(bytes);
  let value = '';
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === want && wireType === WireType.LengthDelimited) value = reader.string();
    else reader.skip(wireType, field);
  }
  return value;
}
