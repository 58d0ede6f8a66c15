/**
 * Dotted field paths (`book.author.name`) over message descriptors, and the words that tell a client what type a
 * field takes.
 */
import { type DescField, type DescMessage, ScalarType } from '@bufbuild/protobuf';

/**
 * The fields along `path` from `message`, each step by proto name or JSON name; every step but the last must be
 * a singular message field. A string says why the path does not resolve.
 */
export function resolveFieldPath(message: DescMessage, path: string): DescField[] | string {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path.split('.')) {
    if (current === undefined) return `"${fields.at(-1)?.name}" is not a message field, so it has no "${name}"`;
    const field: DescField | undefined = current.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) return `${current.typeName} has no field "${name}"`;
    fields.push(field);
    current = field.fieldKind === 'message' && !isWellKnown(field.message) ? field.message : undefined;
  }
  return fields;
}

/** The proto names along resolved fields: the canonical spelling of a path. */
export function protoPath(fields: readonly DescField[]): string {
  return fields.map((f) => f.name).join('.');
}

/** google.protobuf types with a JSON form of their own (a string, a number, any JSON). */
export function isWellKnown(message: DescMessage): boolean {
  return WELL_KNOWN_JSON[message.typeName] !== undefined;
}

const WELL_KNOWN_JSON: Record<string, string> = {
  'google.protobuf.Any': 'object with "@type"',
  'google.protobuf.Timestamp': 'RFC 3339 string',
  'google.protobuf.Duration': 'duration string like "1.5s"',
  'google.protobuf.FieldMask': 'comma-separated field paths',
  'google.protobuf.Struct': 'JSON object',
  'google.protobuf.Value': 'any JSON value',
  'google.protobuf.ListValue': 'JSON array',
  'google.protobuf.Empty': 'empty object',
  'google.protobuf.DoubleValue': 'double or null',
  'google.protobuf.FloatValue': 'float or null',
  'google.protobuf.Int64Value': 'int64 as a decimal string or number, or null',
  'google.protobuf.UInt64Value': 'uint64 as a decimal string or number, or null',
  'google.protobuf.Int32Value': 'int32 or null',
  'google.protobuf.UInt32Value': 'uint32 or null',
  'google.protobuf.BoolValue': 'bool or null',
  'google.protobuf.StringValue': 'string or null',
  'google.protobuf.BytesValue': 'base64 bytes or null',
};

/** What a field's single value looks like in JSON, e.g. `int64 (decimal string or number)`. */
export function expectedValue(field: DescField): string {
  if (field.enum) return `enum ${field.enum.typeName} (name or number)`;
  if (field.message) return expectedMessage(field.message);
  return expectedScalar(field.scalar ?? ScalarType.STRING);
}

/** What the whole field looks like in JSON: a repeated field is an array, a map an object. */
export function expectedField(field: DescField): string {
  if (field.fieldKind === 'list') return `array of ${expectedValue(field)}`;
  if (field.fieldKind === 'map') return `object of ${expectedScalar(field.mapKey)} keys to ${expectedValue(field)}`;
  return expectedValue(field);
}

export function expectedMessage(message: DescMessage): string {
  const wellKnown = WELL_KNOWN_JSON[message.typeName];
  return wellKnown ? `${message.typeName} (${wellKnown})` : `object (${message.typeName})`;
}

function expectedScalar(scalar: ScalarType): string {
  const name = ScalarType[scalar].toLowerCase();
  switch (scalar) {
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `${name} (decimal string or number)`;
    case ScalarType.BYTES:
      return 'bytes (base64)';
    default:
      return name;
  }
}
