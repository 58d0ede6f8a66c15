/**
 * gRPC status to HTTP: the status code table and the `google.rpc.Status` JSON error body.
 *
 * The table is Envoy's (source/common/grpc/status.cc, grpcToHttpStatus), the mapping google/rpc/code.proto
 * documents. grpc-gateway's runtime/errors.go HTTPStatusFromCode agrees on every code but CANCELLED, which it
 * maps to 408 (grpc-gateway's GitHub thread #2707 asks for 499); this table has 499, as Envoy and code.proto do.
 */
import { create, type JsonObject, type JsonWriteOptions, type Registry, toJson } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import type { Metadata } from '@grpc/grpc-js';
import { registryWithRpcDetails } from './rpc-details.ts';

/** HTTP status by gRPC code, index = code (0..16). */
const HTTP_STATUS_BY_GRPC_CODE: readonly number[] = [
  200, // 0 OK
  499, // 1 CANCELLED: client closed request
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION: deliberately not 412
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  501, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

/** The HTTP status for a gRPC status code; 500 for a code outside 0..16. */
export function httpStatusFromGrpcCode(code: number): number {
  return HTTP_STATUS_BY_GRPC_CODE[code] ?? 500;
}

/** One `google.protobuf.Any` of a `google.rpc.Status`, undecoded. */
export interface RpcStatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

/** A decoded `google.rpc.Status` message. */
export interface RpcStatus {
  code: number;
  message: string;
  details: RpcStatusDetail[];
}

/** `google.rpc.Status` in proto3 JSON: what a failed call's client gets as the body. */
export interface RpcStatusJson {
  code: number;
  message: string;
  details: JsonObject[];
}

/** The final status of a gRPC call, as grpc-js reports it (`details` is the grpc-message text). */
export interface GrpcStatusLike {
  code: number;
  details: string;
  metadata: Metadata;
}

/** The trailer carrying a binary `google.rpc.Status` with the error details. */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

/**
 * Decode a binary `google.rpc.Status` (code = 1, message = 2, details = 3 repeated Any {type_url = 1, value = 2}).
 * Unknown fields are skipped; malformed bytes throw.
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const status: RpcStatus = { code: 0, message: '', details: [] };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) status.code = reader.int32();
    else if (field === 2 && wireType === WireType.LengthDelimited) status.message = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) status.details.push(decodeAny(reader.bytes()));
    else reader.skip(wireType, field);
  }
  return status;
}

function decodeAny(bytes: Uint8Array): RpcStatusDetail {
  const detail: RpcStatusDetail = { typeUrl: '', value: new Uint8Array(0) };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) detail.typeUrl = reader.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) detail.value = reader.bytes();
    else reader.skip(wireType, field);
  }
  return detail;
}

/**
 * One detail in proto3 JSON: `{"@type": typeUrl, ...fields}` when `registry` or the standard google.rpc detail
 * types (ErrorInfo, BadRequest, ...) know the type, `registry` first; else `{"@type": typeUrl, "value":
 * "<base64>"}`, so an unknown detail still reaches the client intact.
 */
export function rpcStatusDetailToJson(
  detail: RpcStatusDetail,
  registry?: Registry,
  jsonOptions?: Partial<Omit<JsonWriteOptions, 'registry'>>,
): JsonObject {
  try {
    const json = toJson(AnySchema, create(AnySchema, detail), {
      ...jsonOptions,
      registry: registryWithRpcDetails(registry),
    });
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) return json;
  } catch {
    // The type is in neither registry, or its bytes do not parse as that type: sent undecoded below.
  }
  return { '@type': detail.typeUrl, value: Buffer.from(detail.value).toString('base64') };
}

/**
 * The error body for a finished call: code and message from the call's status, details from its
 * `grpc-status-details-bin` trailer when that is present and decodes (an undecodable trailer gives no details);
 * the trailer's message stands in for an empty grpc-message.
 */
export function rpcStatusToJson(
  status: GrpcStatusLike,
  registry?: Registry,
  jsonOptions?: Partial<Omit<JsonWriteOptions, 'registry'>>,
): RpcStatusJson {
  const body: RpcStatusJson = { code: status.code, message: status.details, details: [] };
  const [raw] = status.metadata.get(STATUS_DETAILS_TRAILER);
  if (raw === undefined) return body;
  let decoded: RpcStatus;
  try {
    decoded = decodeRpcStatus(typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw);
  } catch {
    return body;
  }
  if (body.message === '') body.message = decoded.message;
  body.details = decoded.details.map((detail) => rpcStatusDetailToJson(detail, registry, jsonOptions));
  return body;
}
