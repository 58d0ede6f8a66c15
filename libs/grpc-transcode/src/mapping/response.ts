/**
 * The HTTP response body of a gRPC reply: proto3 JSON by @bufbuild/protobuf's toJson, the whole message or the
 * field `response_body` names.
 */
import { create, type DescMessage, type JsonValue, type Message, type Registry, toJson } from '@bufbuild/protobuf';
import type { HttpBinding } from './http-rule.ts';

export interface ResponseJsonOptions {
  /** Field names as in the .proto (`page_size`) instead of lowerCamelCase (`pageSize`). */
  preserveProtoFieldNames?: boolean;
  /** Emit fields that hold their default value (0, "", false, empty lists and maps). */
  emitDefaults?: boolean;
  /** Resolves the `@type` of google.protobuf.Any values. */
  registry?: Registry;
}

/** The JSON text of `message`, an instance of `method.output`; with `binding.responseBody`, of that field only. */
export function responseJson(
  method: { output: DescMessage },
  message: Message,
  binding: Pick<HttpBinding, 'responseBody'> | undefined,
  options: ResponseJsonOptions = {},
): string {
  const write = {
    alwaysEmitImplicit: options.emitDefaults ?? false,
    useProtoFieldName: options.preserveProtoFieldNames ?? false,
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const whole = toJson(method.output, message, write);
  const picked = binding?.responseBody;
  if (picked === undefined) return JSON.stringify(whole);
  const field = method.output.fields.find((f) => f.name === picked);
  if (field === undefined) throw new TypeError(`${method.output.typeName} has no field "${picked}"`);
  const key = write.useProtoFieldName ? field.name : field.jsonName;
  const set = entry(whole, key);
  if (set) return JSON.stringify(set.value);
  // Unset: the field's default, as the client would read it: zero, empty list or map, or an empty message.
  const defaults = entry(toJson(method.output, message, { ...write, alwaysEmitImplicit: true }), key);
  if (defaults) return JSON.stringify(defaults.value);
  return JSON.stringify(field.message ? toJson(field.message, create(field.message), write) : null);
}

function entry(json: JsonValue, key: string): { value: JsonValue } | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !(key in json)) return undefined;
  return { value: json[key] as JsonValue };
}
