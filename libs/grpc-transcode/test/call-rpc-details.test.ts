/**
 * The google.rpc error detail types built in code: their descriptor against the one buf compiles from
 * google/rpc/error_details.proto, and every type decoded to proto3 JSON in a `google.rpc.Status` error body when
 * the backend's registry lacks it. The details are encoded with the buf-compiled descriptors, so the decoding side
 * is checked against the compiler's view of the format, not against itself.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  clone,
  create,
  createFileRegistry,
  createRegistry,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  type JsonObject,
  type Registry,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  StructSchema,
  TimestampSchema,
} from '@bufbuild/protobuf/wkt';
import { Metadata } from '@grpc/grpc-js';
import { protoDescriptorSet } from '@portico/testkit';
import { RPC_DETAILS_REGISTRY, registryWithRpcDetails, rpcStatusDetailToJson, rpcStatusToJson } from '../src/index.ts';

const FILE = 'google/rpc/error_details.proto';

/** google/rpc/error_details.proto as googleapis publishes it (newest form), comments and file options left out. */
const ERROR_DETAILS_PROTO = `syntax = "proto3";
package google.rpc;
import "google/protobuf/duration.proto";
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
message RetryInfo {
  google.protobuf.Duration retry_delay = 1;
}
message DebugInfo {
  repeated string stack_entries = 1;
  string detail = 2;
}
message QuotaFailure {
  message Violation {
    string subject = 1;
    string description = 2;
    string api_service = 3;
    string quota_metric = 4;
    string quota_id = 5;
    map<string, string> quota_dimensions = 6;
    int64 quota_value = 7;
    optional int64 future_quota_value = 8;
  }
  repeated Violation violations = 1;
}
message PreconditionFailure {
  message Violation {
    string type = 1;
    string subject = 2;
    string description = 3;
  }
  repeated Violation violations = 1;
}
message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
    string reason = 3;
    LocalizedMessage localized_message = 4;
  }
  repeated FieldViolation field_violations = 1;
}
message RequestInfo {
  string request_id = 1;
  string serving_data = 2;
}
message ResourceInfo {
  string resource_type = 1;
  string resource_name = 2;
  string owner = 3;
  string description = 4;
}
message Help {
  message Link {
    string description = 1;
    string url = 2;
  }
  repeated Link links = 1;
}
message LocalizedMessage {
  string locale = 1;
  string message = 2;
}
`;

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

function statusTrailer(details: { typeUrl: string; value: Uint8Array }[]): Metadata {
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(encodeStatus(3, 'from the trailer', details)));
  return metadata;
}

const typeUrl = (typeName: string) => `type.googleapis.com/${typeName}`;

/** Each detail type: a message's fields as `create` takes them, and the proto3 JSON it must come back as. */
const CASES: { type: string; init: Record<string, unknown>; json: JsonObject }[] = [
  {
    type: 'google.rpc.ErrorInfo',
    init: { reason: 'QUOTA_EXCEEDED', domain: 'portico.dev', metadata: { limit_per_minute: '5', scope: 'user' } },
    json: { reason: 'QUOTA_EXCEEDED', domain: 'portico.dev', metadata: { limit_per_minute: '5', scope: 'user' } },
  },
  {
    type: 'google.rpc.RetryInfo',
    init: { retryDelay: { seconds: 1n, nanos: 500_000_000 } },
    json: { retryDelay: '1.500s' },
  },
  {
    type: 'google.rpc.DebugInfo',
    init: { stackEntries: ['at a.B(B.java:1)', 'at c.D(D.java:2)'], detail: 'null pointer' },
    json: { stackEntries: ['at a.B(B.java:1)', 'at c.D(D.java:2)'], detail: 'null pointer' },
  },
  {
    type: 'google.rpc.QuotaFailure',
    init: {
      violations: [
        {
          subject: 'project:42',
          description: 'daily limit',
          apiService: 'books.portico.dev',
          quotaMetric: 'books/reads',
          quotaId: 'ReadsPerDay',
          quotaDimensions: { region: 'eu' },
          quotaValue: 9_007_199_254_740_993n,
          futureQuotaValue: 0n,
        },
        { subject: 'clientip:10.0.0.1' },
      ],
    },
    json: {
      violations: [
        {
          subject: 'project:42',
          description: 'daily limit',
          apiService: 'books.portico.dev',
          quotaMetric: 'books/reads',
          quotaId: 'ReadsPerDay',
          quotaDimensions: { region: 'eu' },
          quotaValue: '9007199254740993',
          // proto3 `optional`: present, so written even at its default.
          futureQuotaValue: '0',
        },
        { subject: 'clientip:10.0.0.1' },
      ],
    },
  },
  {
    type: 'google.rpc.PreconditionFailure',
    init: { violations: [{ type: 'TOS', subject: 'portico.dev/terms', description: 'terms not accepted' }] },
    json: { violations: [{ type: 'TOS', subject: 'portico.dev/terms', description: 'terms not accepted' }] },
  },
  {
    type: 'google.rpc.BadRequest',
    init: {
      fieldViolations: [
        {
          field: 'book.isbn',
          description: 'not an ISBN',
          reason: 'INVALID_ISBN',
          localizedMessage: { locale: 'fr-CH', message: 'pas un ISBN' },
        },
        { field: 'shelf', description: 'required' },
      ],
    },
    json: {
      fieldViolations: [
        {
          field: 'book.isbn',
          description: 'not an ISBN',
          reason: 'INVALID_ISBN',
          localizedMessage: { locale: 'fr-CH', message: 'pas un ISBN' },
        },
        { field: 'shelf', description: 'required' },
      ],
    },
  },
  {
    type: 'google.rpc.RequestInfo',
    init: { requestId: 'req-7', servingData: 'opaque' },
    json: { requestId: 'req-7', servingData: 'opaque' },
  },
  {
    type: 'google.rpc.ResourceInfo',
    init: { resourceType: 'book', resourceName: 'shelves/1/books/2', owner: 'user:ann', description: 'needs writer' },
    json: { resourceType: 'book', resourceName: 'shelves/1/books/2', owner: 'user:ann', description: 'needs writer' },
  },
  {
    type: 'google.rpc.Help',
    init: { links: [{ description: 'quota docs', url: 'https://portico.dev/quota' }] },
    json: { links: [{ description: 'quota docs', url: 'https://portico.dev/quota' }] },
  },
  {
    type: 'google.rpc.LocalizedMessage',
    init: { locale: 'en-US', message: 'Try again later.' },
    json: { locale: 'en-US', message: 'Try again later.' },
  },
];

let protoDir: string;
/** error_details.proto compiled by buf: the reference the in-code descriptor is held to. */
let compiled: FileRegistry;

function compiledMessage(typeName: string): DescMessage {
  const desc = compiled.getMessage(typeName);
  assert.ok(desc, `buf compiled no ${typeName}`);
  return desc;
}

function encodeDetail(type: string, init: Record<string, unknown>): { typeUrl: string; value: Uint8Array } {
  const schema = compiledMessage(type);
  return { typeUrl: typeUrl(type), value: toBinary(schema, create(schema, init)) };
}

before(async () => {
  protoDir = mkdtempSync(join(tmpdir(), 'portico-rpc-details-'));
  mkdirSync(join(protoDir, 'google/rpc'), { recursive: true });
  writeFileSync(join(protoDir, FILE), ERROR_DETAILS_PROTO);
  const bytes = await protoDescriptorSet(protoDir, [FILE]);
  compiled = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
});

after(() => rmSync(protoDir, { recursive: true, force: true }));

describe('RPC_DETAILS_REGISTRY', () => {
  test('its file descriptor is the one buf compiles: names, numbers, labels, types, json_name, maps, optional', () => {
    const ours = RPC_DETAILS_REGISTRY.getFile(FILE)?.proto;
    const theirs = compiled.getFile(FILE)?.proto;
    assert.ok(ours && theirs);
    // Comments and spans are buf's record of the source text, not part of the schema.
    const theirsWithoutSource = clone(FileDescriptorProtoSchema, theirs);
    theirsWithoutSource.sourceCodeInfo = undefined;
    assert.deepEqual(toJson(FileDescriptorProtoSchema, ours), toJson(FileDescriptorProtoSchema, theirsWithoutSource));
  });

  test('holds every standard detail type and resolves Duration', () => {
    const names = [...RPC_DETAILS_REGISTRY].filter((type) => type.kind === 'message').map((t) => t.typeName);
    for (const { type } of CASES) assert.ok(names.includes(type), type);
    const retryDelay = RPC_DETAILS_REGISTRY.getMessage('google.rpc.RetryInfo')?.field.retryDelay;
    assert.equal(retryDelay?.message?.typeName, 'google.protobuf.Duration');
  });
});

describe('rpcStatusToJson with the standard detail types', () => {
  const unrelated = createRegistry(StructSchema, TimestampSchema);

  for (const registry of [undefined, unrelated]) {
    const label = registry === undefined ? 'no registry' : 'an unrelated registry';
    test(`decodes every detail type with ${label}`, () => {
      const metadata = statusTrailer(CASES.map(({ type, init }) => encodeDetail(type, init)));
      const body = rpcStatusToJson({ code: 3, details: 'bad request', metadata }, registry);
      assert.deepEqual(body, {
        code: 3,
        message: 'bad request',
        details: CASES.map(({ type, json }) => ({ '@type': typeUrl(type), ...json })),
      });
    });
  }

  test('an unknown type, and a standard type whose bytes do not parse, come back base64', () => {
    const metadata = statusTrailer([
      { typeUrl: typeUrl('x.Unknown'), value: new Uint8Array([0xff, 1]) },
      // Field 1 (reason) as a length-delimited string that claims 5 bytes and has 1.
      { typeUrl: typeUrl('google.rpc.ErrorInfo'), value: new Uint8Array([0x0a, 0x05, 0x41]) },
    ]);
    assert.deepEqual(rpcStatusToJson({ code: 3, details: 'x', metadata }).details, [
      { '@type': typeUrl('x.Unknown'), value: '/wE=' },
      { '@type': typeUrl('google.rpc.ErrorInfo'), value: 'CgVB' },
    ]);
  });

  test('JSON options apply to the standard types', () => {
    const detail = encodeDetail('google.rpc.BadRequest', {
      fieldViolations: [{ field: 'name', localizedMessage: { locale: 'en', message: 'required' } }],
    });
    assert.deepEqual(rpcStatusDetailToJson(detail, undefined, { useProtoFieldName: true }), {
      '@type': typeUrl('google.rpc.BadRequest'),
      field_violations: [{ field: 'name', localized_message: { locale: 'en', message: 'required' } }],
    });
  });
});

describe('the given registry first', () => {
  /**
   * A backend's own google.rpc.ErrorInfo that differs from the standard one (field 1 named `code_name`), and a
   * detail type of its own.
   */
  const backendFile = create(FileDescriptorProtoSchema, {
    name: 'backend/errors.proto',
    package: 'google.rpc',
    syntax: 'proto3',
    messageType: [
      {
        name: 'ErrorInfo',
        field: [
          {
            name: 'code_name',
            number: 1,
            label: FieldDescriptorProto_Label.OPTIONAL,
            type: FieldDescriptorProto_Type.STRING,
            jsonName: 'codeName',
          },
        ],
      },
      {
        name: 'ShelfFull',
        field: [
          {
            name: 'capacity',
            number: 1,
            label: FieldDescriptorProto_Label.OPTIONAL,
            type: FieldDescriptorProto_Type.INT32,
            jsonName: 'capacity',
          },
        ],
      },
    ],
  });
  const backend: Registry = createFileRegistry(backendFile, () => undefined);

  test('its own types win; the standard ones fill in what it lacks', () => {
    const shelfFull = backend.getMessage('google.rpc.ShelfFull');
    assert.ok(shelfFull);
    const metadata = statusTrailer([
      encodeDetail('google.rpc.ErrorInfo', { reason: 'SHELF_FULL' }),
      { typeUrl: typeUrl('google.rpc.ShelfFull'), value: toBinary(shelfFull, create(shelfFull, { capacity: 12 })) },
      encodeDetail('google.rpc.Help', { links: [{ url: 'https://portico.dev/shelves' }] }),
    ]);
    assert.deepEqual(rpcStatusToJson({ code: 9, details: 'full', metadata }, backend).details, [
      { '@type': typeUrl('google.rpc.ErrorInfo'), codeName: 'SHELF_FULL' },
      { '@type': typeUrl('google.rpc.ShelfFull'), capacity: 12 },
      { '@type': typeUrl('google.rpc.Help'), links: [{ url: 'https://portico.dev/shelves' }] },
    ]);
  });

  test('registryWithRpcDetails: one combined registry per given registry, lookups in order', () => {
    const combined = registryWithRpcDetails(backend);
    assert.equal(registryWithRpcDetails(backend), combined);
    assert.equal(registryWithRpcDetails(), RPC_DETAILS_REGISTRY);
    assert.equal(combined.getMessage('google.rpc.ErrorInfo'), backend.getMessage('google.rpc.ErrorInfo'));
    assert.equal(combined.getMessage('google.rpc.Help'), RPC_DETAILS_REGISTRY.getMessage('google.rpc.Help'));
    assert.equal(combined.getMessage('x.Unknown'), undefined);
    const errorInfos = [...combined].filter((type) => type.typeName === 'google.rpc.ErrorInfo');
    assert.deepEqual(errorInfos, [backend.getMessage('google.rpc.ErrorInfo')]);
  });
});
