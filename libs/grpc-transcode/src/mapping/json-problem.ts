/**
 * Finds where a JSON value fails to become a message. @bufbuild/protobuf's fromJson does the conversion and
 * says what was wrong but not where; this walks the value beside the descriptor, asks fromJson about one field
 * at a time, and returns the first failing field's path and expected type. It only runs after fromJson failed.
 */
import { type DescField, type DescMessage, fromJson, type JsonValue, type Registry } from '@bufbuild/protobuf';
import type { BadRequestDetail } from './errors.ts';
import { expectedField, expectedMessage, expectedValue, isWellKnown } from './field-path.ts';

export interface JsonReadOptions {
  ignoreUnknownFields: boolean;
  registry?: Registry;
}

type JsonObject = { [key: string]: JsonValue };

/** The first problem in `json` as `message`, at `path` (e.g. `body`) and below; undefined when it converts. */
export function findJsonProblem(
  message: DescMessage,
  json: JsonValue,
  path: string,
  options: JsonReadOptions,
): BadRequestDetail | undefined {
  if (isWellKnown(message)) {
    const reason = conversionError(() => fromJson(message, json, options));
    return reason === undefined ? undefined : { path, message: reason, expected: expectedMessage(message) };
  }
  if (!isObject(json)) {
    return { path, message: `expected an object, got ${describe(json)}`, expected: expectedMessage(message) };
  }
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = message.fields.find((f) => f.jsonName === key || f.name === key);
    const at = `${path}.${key}`;
    if (field === undefined) {
      if (options.ignoreUnknownFields) continue;
      return { path: at, message: `unknown field of ${message.typeName}`, expected: knownFields(message) };
    }
    if (field.oneof && value !== null) {
      const other = oneofSeen.get(field.oneof.name);
      if (other !== undefined) {
        return { path: at, message: `"${other}" is already set and belongs to the same oneof ${field.oneof.name}` };
      }
      oneofSeen.set(field.oneof.name, key);
    }
    const problem = fieldProblem(message, field, key, value, at, options);
    if (problem) return problem;
  }
  return undefined;
}

function fieldProblem(
  parent: DescMessage,
  field: DescField,
  key: string,
  value: JsonValue,
  path: string,
  options: JsonReadOptions,
): BadRequestDetail | undefined {
  if (value === null) return leafProblem(parent, field, { [key]: value }, path, expectedField(field), options);
  const nested = field.message !== undefined && !isWellKnown(field.message) ? field.message : undefined;
  switch (field.fieldKind) {
    case 'message':
      return nested
        ? findJsonProblem(nested, value, path, options)
        : leafProblem(parent, field, { [key]: value }, path, expectedValue(field), options);
    case 'list': {
      if (!Array.isArray(value)) {
        return { path, message: `expected an array, got ${describe(value)}`, expected: expectedField(field) };
      }
      for (const [i, item] of value.entries()) {
        const problem =
          nested && item !== null
            ? findJsonProblem(nested, item, `${path}[${i}]`, options)
            : leafProblem(parent, field, { [key]: [item] }, `${path}[${i}]`, expectedValue(field), options);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'map': {
      if (!isObject(value)) {
        return { path, message: `expected an object, got ${describe(value)}`, expected: expectedField(field) };
      }
      for (const [mapKey, item] of Object.entries(value)) {
        const at = `${path}[${JSON.stringify(mapKey)}]`;
        const keyProblem = leafProblem(parent, field, { [key]: { [mapKey]: nested ? {} : item } }, at, '', options);
        if (keyProblem) return { ...keyProblem, expected: expectedField(field) };
        const problem = nested && item !== null ? findJsonProblem(nested, item, at, options) : undefined;
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return leafProblem(parent, field, { [key]: value }, path, expectedValue(field), options);
  }
}

function leafProblem(
  parent: DescMessage,
  field: DescField,
  json: JsonObject,
  path: string,
  expected: string,
  options: JsonReadOptions,
): BadRequestDetail | undefined {
  const reason = conversionError(() => fromJson(parent, json, options));
  if (reason === undefined) return undefined;
  return { path, message: reason.replace(`field ${field.parent.typeName}.${field.name}: `, ''), expected };
}

/** fromJson's reason without its `cannot decode ... from JSON:` preamble, or undefined when it succeeds. */
export function conversionError(convert: () => unknown): string | undefined {
  try {
    convert();
    return undefined;
  } catch (error) {
    return conversionReason(error);
  }
}

/** A fromJson error's reason without its `cannot decode ... from JSON:` preamble. */
export function conversionReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const reason = text.replace(/^cannot decode (?:field |message |enum )?[\w.]+ from JSON:? ?/, '') || text;
  // A reason that is only the offending value reads better with a word before it.
  return /^["\d[{-]|^(?:true|false|null)$/.test(reason) ? `invalid value ${reason}` : reason;
}

function knownFields(message: DescMessage): string {
  const names = message.fields.map((f) => f.jsonName);
  return names.length === 0 ? 'no fields' : `one of ${names.join(', ')}`;
}

function isObject(json: JsonValue): json is JsonObject {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

function describe(json: JsonValue): string {
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  if (typeof json === 'object') return 'an object';
  return `${typeof json} ${JSON.stringify(json)}`;
}
