/**
 * The standard error detail types of google/rpc/error_details.proto (package google.rpc), built in code so a
 * `google.rpc.Status` detail decodes to JSON even when the backend's reflection does not serve that file: a
 * server's reflection gives only the files its services import, and servers attach these types without importing
 * them in their own protos.
 *
 * The descriptor is the one protoc builds from googleapis' error_details.proto (its newest form, with
 * QuotaFailure.Violation's quota fields and BadRequest.FieldViolation's `reason` and `localized_message`), field
 * names, numbers, labels and json_name included; the file options (java_package and such) are left out, as
 * nothing here reads them.
 */
import { create, createFileRegistry, type FileRegistry, type Registry } from '@bufbuild/protobuf';
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
  file_google_protobuf_duration,
} from '@bufbuild/protobuf/wkt';

const PACKAGE = 'google.rpc';
const DURATION_FILE = 'google/protobuf/duration.proto';

/** `foo_bar_baz` -> `fooBarBaz`, as protoc sets json_name. */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

interface FieldSpec {
  name: string;
  number: number;
  type: FieldDescriptorProto_Type;
  repeated?: boolean;
  /** Fully qualified, with the leading dot, for message fields. */
  typeName?: string;
  /** A proto3 `optional` field: member of the synthetic oneof at this index. */
  proto3OptionalOneof?: number;
}

function field(spec: FieldSpec): FieldDescriptorProto {
  return create(FieldDescriptorProtoSchema, {
    name: spec.name,
    number: spec.number,
    label: spec.repeated ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
    type: spec.type,
    jsonName: jsonName(spec.name),
    ...(spec.typeName === undefined ? {} : { typeName: spec.typeName }),
    ...(spec.proto3OptionalOneof === undefined ? {} : { oneofIndex: spec.proto3OptionalOneof, proto3Optional: true }),
  });
}

const string = (name: string, number: number): FieldDescriptorProto =>
  field({ name, number, type: FieldDescriptorProto_Type.STRING });

const repeatedMessage = (name: string, number: number, typeName: string): FieldDescriptorProto =>
  field({ name, number, type: FieldDescriptorProto_Type.MESSAGE, repeated: true, typeName });

/** A `map<string, string>` field: the repeated field and the `<Name>Entry` nested type protoc generates for it. */
function stringMap(
  owner: string,
  name: string,
  number: number,
): { field: FieldDescriptorProto; entry: DescriptorProto } {
  const entryName = `${name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Entry`;
  return {
    field: repeatedMessage(name, number, `.${PACKAGE}.${owner}.${entryName}`),
    entry: create(DescriptorProtoSchema, {
      name: entryName,
      field: [string('key', 1), string('value', 2)],
      options: { mapEntry: true },
    }),
  };
}

/** A message with its fields, nested types and the names of its oneofs. */
function message(
  name: string,
  fields: FieldDescriptorProto[],
  nested: { nestedType?: DescriptorProto[]; oneofs?: string[] } = {},
): DescriptorProto {
  return create(DescriptorProtoSchema, {
    name,
    field: fields,
    nestedType: nested.nestedType ?? [],
    oneofDecl: (nested.oneofs ?? []).map((oneof) => ({ name: oneof })),
  });
}

const errorInfoMetadata = stringMap('ErrorInfo', 'metadata', 3);
const quotaDimensions = stringMap('QuotaFailure.Violation', 'quota_dimensions', 6);

const ERROR_DETAILS_FILE = create(FileDescriptorProtoSchema, {
  name: 'google/rpc/error_details.proto',
  package: PACKAGE,
  dependency: [DURATION_FILE],
  syntax: 'proto3',
  messageType: [
    message('ErrorInfo', [string('reason', 1), string('domain', 2), errorInfoMetadata.field], {
      nestedType: [errorInfoMetadata.entry],
    }),
    message('RetryInfo', [
      field({
        name: 'retry_delay',
        number: 1,
        type: FieldDescriptorProto_Type.MESSAGE,
        typeName: '.google.protobuf.Duration',
      }),
    ]),
    message('DebugInfo', [
      field({ name: 'stack_entries', number: 1, type: FieldDescriptorProto_Type.STRING, repeated: true }),
      string('detail', 2),
    ]),
    message('QuotaFailure', [repeatedMessage('violations', 1, `.${PACKAGE}.QuotaFailure.Violation`)], {
      nestedType: [
        message(
          'Violation',
          [
            string('subject', 1),
            string('description', 2),
            string('api_service', 3),
            string('quota_metric', 4),
            string('quota_id', 5),
            quotaDimensions.field,
            field({ name: 'quota_value', number: 7, type: FieldDescriptorProto_Type.INT64 }),
            field({
              name: 'future_quota_value',
              number: 8,
              type: FieldDescriptorProto_Type.INT64,
              proto3OptionalOneof: 0,
            }),
          ],
          { nestedType: [quotaDimensions.entry], oneofs: ['_future_quota_value'] },
        ),
      ],
    }),
    message('PreconditionFailure', [repeatedMessage('violations', 1, `.${PACKAGE}.PreconditionFailure.Violation`)], {
      nestedType: [message('Violation', [string('type', 1), string('subject', 2), string('description', 3)])],
    }),
    message('BadRequest', [repeatedMessage('field_violations', 1, `.${PACKAGE}.BadRequest.FieldViolation`)], {
      nestedType: [
        message('FieldViolation', [
          string('field', 1),
          string('description', 2),
          string('reason', 3),
          field({
            name: 'localized_message',
            number: 4,
            type: FieldDescriptorProto_Type.MESSAGE,
            typeName: `.${PACKAGE}.LocalizedMessage`,
          }),
        ]),
      ],
    }),
    message('RequestInfo', [string('request_id', 1), string('serving_data', 2)]),
    message('ResourceInfo', [
      string('resource_type', 1),
      string('resource_name', 2),
      string('owner', 3),
      string('description', 4),
    ]),
    message('Help', [repeatedMessage('links', 1, `.${PACKAGE}.Help.Link`)], {
      nestedType: [message('Link', [string('description', 1), string('url', 2)])],
    }),
    message('LocalizedMessage', [string('locale', 1), string('message', 2)]),
  ],
});

/** The google.rpc error detail types (ErrorInfo, RetryInfo, ..., LocalizedMessage), with google.protobuf.Duration. */
export const RPC_DETAILS_REGISTRY: FileRegistry = createFileRegistry(ERROR_DETAILS_FILE, (fileName) =>
  fileName === DURATION_FILE ? file_google_protobuf_duration : undefined,
);

const withDetailsByRegistry = new WeakMap<Registry, Registry>();

/**
 * The registry a `google.rpc.Status` detail decodes with: `registry`'s own types first (the backend's descriptors
 * keep their types), then the standard detail types for what it lacks. Without `registry`, the standard types
 * alone. One wrapper per registry, kept while the registry lives.
 */
export function registryWithRpcDetails(registry?: Registry): Registry {
  if (registry === undefined || registry === RPC_DETAILS_REGISTRY) return RPC_DETAILS_REGISTRY;
  let combined = withDetailsByRegistry.get(registry);
  if (combined === undefined) {
    combined = firstThen(registry, RPC_DETAILS_REGISTRY);
    withDetailsByRegistry.set(registry, combined);
  }
  return combined;
}

/** A registry that answers from `first`, and from `fallback` where `first` has nothing. */
function firstThen(first: Registry, fallback: Registry): Registry {
  return {
    kind: 'registry',
    *[Symbol.iterator]() {
      yield* first;
      for (const type of fallback) if (first.get(type.typeName) === undefined) yield type;
    },
    get: (typeName) => first.get(typeName) ?? fallback.get(typeName),
    getMessage: (typeName) => first.getMessage(typeName) ?? fallback.getMessage(typeName),
    getEnum: (typeName) => first.getEnum(typeName) ?? fallback.getEnum(typeName),
    getExtension: (typeName) => first.getExtension(typeName) ?? fallback.getExtension(typeName),
    getExtensionFor: (extendee, no) => first.getExtensionFor(extendee, no) ?? fallback.getExtensionFor(extendee, no),
    getService: (typeName) => first.getService(typeName) ?? fallback.getService(typeName),
  };
}
