/**
 * The input message of a matched method from an HTTP request, as google/api/http.proto says: the body (all of it
 * for `body: "*"`, or one field), then the path variables, then query parameters into every field the path and
 * the body leave free. The proto3 JSON mapping is @bufbuild/protobuf's fromJson; this module only decides what
 * JSON goes where and, when it fails, says where.
 */
import {
  create,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
  type Message,
  mergeFromJson,
  type Registry,
  ScalarType,
} from '@bufbuild/protobuf';
import { type BadRequestDetail, GrpcBadRequestError } from './errors.ts';
import {
  expectedField,
  expectedMessage,
  expectedValue,
  isWellKnown,
  protoPath,
  resolveFieldPath,
} from './field-path.ts';
import type { HttpBinding } from './http-rule.ts';
import { conversionError, conversionReason, findJsonProblem, type JsonReadOptions } from './json-problem.ts';

/** What buildRequest needs of a route match. */
export interface RequestMatch {
  method: { name: string; parent: { typeName: string }; input: DescMessage };
  binding: HttpBinding;
  params: ReadonlyArray<readonly [fieldPath: string, value: string]>;
}

export interface HttpRequestParts {
  /** The raw query string, with or without its leading `?`. */
  query: string;
  /** The raw request body; undefined or empty for none. */
  body: Uint8Array | undefined;
}

export interface BuildRequestOptions {
  /** Skip unknown JSON fields, unknown enum names and unknown query parameters instead of a 400. */
  ignoreUnknownFields?: boolean;
  /** Resolves the `@type` of google.protobuf.Any values. */
  registry?: Registry;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The method's input message for one HTTP request. Query parameters naming a field bound by the path or the body
 * are ignored; with `body: "*"` every field is bound, so the query is not read. Throws GrpcBadRequestError (400)
 * with a detail per problem: its field path (`body.items[2].count`, `path.name`, `query.page_size`) and the
 * type expected there.
 */
export function buildRequest(
  match: RequestMatch,
  request: HttpRequestParts,
  options: BuildRequestOptions = {},
): Message {
  const { method, binding } = match;
  const input = method.input;
  const read: JsonReadOptions = {
    ignoreUnknownFields: options.ignoreUnknownFields ?? false,
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const problems: BadRequestDetail[] = [];
  let message: Message = create(input);

  const hasBody = request.body !== undefined && request.body.length > 0;
  if (binding.body === undefined) {
    if (hasBody) problems.push({ path: 'body', message: 'this route takes no request body', expected: 'no body' });
  } else if (hasBody) {
    const bodyField = binding.body === '*' ? undefined : input.fields.find((f) => f.name === binding.body);
    const expected = bodyField ? expectedField(bodyField) : expectedMessage(input);
    const json = parseBody(request.body as Uint8Array, expected, problems);
    if (json !== undefined) {
      const wrapped: JsonValue = bodyField ? { [bodyField.name]: json } : json;
      try {
        message = fromJson(input, wrapped, read);
      } catch (error) {
        const problem = bodyField
          ? findJsonProblem(input, wrapped, '', read)
          : findJsonProblem(input, wrapped, 'body', read);
        if (problem && bodyField) problem.path = `body${problem.path.slice(bodyField.name.length + 1)}`;
        problems.push(problem ?? { path: 'body', message: conversionReason(error), expected });
      }
    }
  }

  const pathBound: string[] = [];
  for (const [fieldPath, value] of match.params) {
    const fields = resolveFieldPath(input, fieldPath);
    if (typeof fields === 'string') {
      problems.push({ path: `path.${fieldPath}`, message: fields });
      continue;
    }
    pathBound.push(protoPath(fields));
    setFromText(message, input, fields, [value], `path.${fieldPath}`, read, problems);
  }

  if (binding.body !== '*') {
    const bodyBound = binding.body;
    for (const [key, values] of groupQuery(request.query)) {
      const fields = resolveFieldPath(input, key);
      if (typeof fields === 'string') {
        if (!read.ignoreUnknownFields) problems.push({ path: `query.${key}`, message: `unknown parameter: ${fields}` });
        continue;
      }
      const canonical = protoPath(fields);
      const bound =
        fields[0]?.name === bodyBound || pathBound.some((p) => canonical === p || canonical.startsWith(`${p}.`));
      if (bound) continue;
      setFromText(message, input, fields, values, `query.${key}`, read, problems);
    }
  }

  if (problems.length > 0) throw new GrpcBadRequestError(`${method.parent.typeName}.${method.name}`, problems);
  return message;
}

function parseBody(body: Uint8Array, expected: string, problems: BadRequestDetail[]): JsonValue | undefined {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    problems.push({ path: 'body', message: 'the body is not valid UTF-8', expected });
    return undefined;
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    problems.push({ path: 'body', message: `invalid JSON: ${(error as Error).message}`, expected });
    return undefined;
  }
}

/** Query parameters by key, in first-seen order; a repeated key gives several values. */
function groupQuery(query: string): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    const values = grouped.get(key);
    if (values) values.push(value);
    else grouped.set(key, [value]);
  }
  return grouped;
}

/** Sets the field at `fields` from text values (a path variable or query parameter), through fromJson. */
function setFromText(
  message: Message,
  input: DescMessage,
  fields: DescField[],
  values: readonly string[],
  at: string,
  read: JsonReadOptions,
  problems: BadRequestDetail[],
): void {
  const leaf = fields.at(-1) as DescField;
  const expected = expectedValue(leaf);
  if (leaf.fieldKind === 'map' || (leaf.fieldKind === 'message' && !isWellKnown(leaf.message))) {
    const what = leaf.fieldKind === 'map' ? 'a map field' : `a message field (${expected})`;
    problems.push({ path: at, message: `${what} cannot be set from text; set one of its fields`, expected });
    return;
  }
  if (leaf.fieldKind !== 'list' && values.length > 1) {
    problems.push({ path: at, message: `${values.length} values for a field that takes one`, expected });
    return;
  }
  const converted: JsonValue[] = [];
  for (const value of values) {
    const json = jsonFromText(leaf, value);
    if (json instanceof Error) {
      problems.push({ path: at, message: json.message, expected });
      return;
    }
    converted.push(json);
  }
  let json: JsonValue = leaf.fieldKind === 'list' ? converted : (converted[0] as JsonValue);
  for (const field of [...fields].reverse()) json = { [field.name]: json };
  const reason = conversionError(() => mergeFromJson(input, message, json, read));
  if (reason !== undefined) {
    problems.push({ path: at, message: reason.replace(/^field [\w.]+: /, ''), expected });
  }
}

/** The JSON value a text form stands for, for one value of `field`; fromJson then checks and converts it. */
function jsonFromText(field: DescField, text: string): JsonValue | Error {
  if (field.enum) return /^-?\d+$/.test(text) ? Number(text) : text;
  if (field.message) {
    switch (field.message.typeName) {
      case 'google.protobuf.BoolValue':
        return boolFromText(text);
      case 'google.protobuf.Value':
        return parseJson(text) ?? text;
      case 'google.protobuf.Struct':
      case 'google.protobuf.ListValue':
      case 'google.protobuf.Any':
      case 'google.protobuf.Empty':
        return parseJson(text) ?? new Error(`invalid JSON "${text}"`);
      default:
        // Timestamp, Duration, FieldMask and the other wrappers have a string form fromJson reads.
        return text;
    }
  }
  return field.scalar === ScalarType.BOOL ? boolFromText(text) : text;
}

function boolFromText(text: string): boolean | Error {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return new Error(`"${text}" is not true or false`);
}

function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}
