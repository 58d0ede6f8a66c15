import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRegistry } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import { Metadata, status } from '@grpc/grpc-js';
import { decodeRpcStatus, httpStatusFromGrpcCode, rpcStatusDetailToJson, rpcStatusToJson } from '../src/index.ts';

/** google.rpc.Status, written field by field as the wire format has it. */
function encodeStatus(code: number, message: string, details: { typeUrl: string; value: Uint8Array }[]): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, 0).int32(code);
  writer.tag(2, 2).string(message);
  for (const detail of details) {
    writer.tag(3, 2).fork();
    writer.tag(1, 2).string(detail.typeUrl);
    writer.tag(2, 2).bytes(detail.value);
    writer.join();
  }
  return writer.finish();
}

/** Duration {seconds = 3, nanos = 500000000}: "3.500s" in JSON. */
const DURATION_BYTES = new BinaryWriter().tag(1, 0).int64(3).tag(2, 0).int32(500_000_000).finish();

describe('httpStatusFromGrpcCode', () => {
  test('maps every gRPC code as Envoy and google/rpc/code.proto do', () => {
    const expected: Record<keyof typeof status, number> = {
      OK: 200,
      CANCELLED: 499,
      UNKNOWN: 500,
      INVALID_ARGUMENT: 400,
      DEADLINE_EXCEEDED: 504,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      PERMISSION_DENIED: 403,
      RESOURCE_EXHAUSTED: 429,
      FAILED_PRECONDITION: 400,
      ABORTED: 409,
      OUT_OF_RANGE: 400,
      UNIMPLEMENTED: 501,
      INTERNAL: 500,
      UNAVAILABLE: 503,
      DATA_LOSS: 500,
      UNAUTHENTICATED: 401,
    };
    for (const [name, http] of Object.entries(expected)) {
      assert.equal(httpStatusFromGrpcCode(status[name as keyof typeof status]), http, name);
    }
  });

  test('a code outside 0..16 is 500', () => {
    assert.equal(httpStatusFromGrpcCode(17), 500);
    assert.equal(httpStatusFromGrpcCode(-1), 500);
  });
});

describe('decodeRpcStatus', () => {
  test('reads code, message and each detail', () => {
    const bytes = encodeStatus(5, 'no such thing', [
      { typeUrl: 'type.googleapis.com/a.B', value: new Uint8Array([1, 2, 3]) },
      { typeUrl: 'type.googleapis.com/c.D', value: new Uint8Array([]) },
    ]);
    const decoded = decodeRpcStatus(bytes);
    assert.equal(decoded.code, 5);
    assert.equal(decoded.message, 'no such thing');
    assert.deepEqual(
      decoded.details.map((d) => [d.typeUrl, [...d.value]]),
      [
        ['type.googleapis.com/a.B', [1, 2, 3]],
        ['type.googleapis.com/c.D', []],
      ],
    );
  });

  test('skips fields it does not know', () => {
    const writer = new BinaryWriter();
    writer.tag(9, 2).string('future field');
    writer.tag(1, 0).int32(3);
    const decoded = decodeRpcStatus(writer.finish());
    assert.equal(decoded.code, 3);
    assert.deepEqual(decoded.details, []);
  });

  test('throws on truncated bytes', () => {
    const bytes = encodeStatus(3, 'bad', [{ typeUrl: 'type.googleapis.com/a.B', value: new Uint8Array([1]) }]);
    assert.throws(() => decodeRpcStatus(bytes.subarray(0, bytes.length - 3)));
  });
});

describe('rpcStatusToJson', () => {
  const registry = createRegistry(DurationSchema);

  test('decodes a detail whose type the registry knows to proto3 JSON with @type', () => {
    const json = rpcStatusDetailToJson(
      { typeUrl: 'type.googleapis.com/google.protobuf.Duration', value: DURATION_BYTES },
      registry,
    );
    assert.deepEqual(json, { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '3.500s' });
  });

  test('keeps an unknown detail as @type and base64 value', () => {
    const json = rpcStatusDetailToJson(
      { typeUrl: 'type.googleapis.com/x.Unknown', value: new Uint8Array([0xff, 1]) },
      registry,
    );
    assert.deepEqual(json, { '@type': 'type.googleapis.com/x.Unknown', value: '/wE=' });
  });

  test('takes code and message from the call status and details from grpc-status-details-bin', () => {
    const metadata = new Metadata();
    metadata.set(
      'grpc-status-details-bin',
      Buffer.from(
        encodeStatus(9, 'from the trailer', [
          { typeUrl: 'type.googleapis.com/google.protobuf.Duration', value: DURATION_BYTES },
          { typeUrl: 'type.googleapis.com/x.Unknown', value: new Uint8Array([7]) },
        ]),
      ),
    );
    const body = rpcStatusToJson({ code: 9, details: 'precondition failed', metadata }, registry);
    assert.deepEqual(body, {
      code: 9,
      message: 'precondition failed',
      details: [
        { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '3.500s' },
        { '@type': 'type.googleapis.com/x.Unknown', value: 'Bw==' },
      ],
    });
  });

  test('without the trailer, or with one that does not decode, details are empty', () => {
    assert.deepEqual(rpcStatusToJson({ code: 14, details: 'down', metadata: new Metadata() }), {
      code: 14,
      message: 'down',
      details: [],
    });
    const broken = new Metadata();
    broken.set('grpc-status-details-bin', Buffer.from([0x1a, 0x05, 0x01]));
    assert.deepEqual(rpcStatusToJson({ code: 13, details: 'x', metadata: broken }).details, []);
  });
});
