/**
 * The `google.api.http` option of a method, read from the MethodOptions' unknown fields: descriptors from
 * reflection or a FileDescriptorSet carry it there unless the extension was registered when they were parsed.
 */
import type { DescMethod } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { GrpcHttpRuleError } from './errors.ts';

/** The field number of `google.api.http` in google.protobuf.MethodOptions. */
export const HTTP_RULE_EXTENSION = 72295728;

/** One HTTP binding of a method: a verb and path template, where the body goes, what the response body is. */
export interface HttpBinding {
  /** Upper-case HTTP method (`GET`, `POST`, or a custom rule's kind). */
  verb: string;
  /** The path template, e.g. `/v1/{name=shelves/*}/books`. */
  template: string;
  /** `*` for the whole input message, a top-level field name, or absent for no body. */
  body?: string;
  /** A top-level field of the output message sent as the response body; absent for the whole message. */
  responseBody?: string;
}

interface DecodedRule {
  verb?: string;
  template?: string;
  body: string;
  responseBody: string;
  additional: DecodedRule[];
}

const VERB_BY_FIELD: Record<number, string> = { 2: 'GET', 3: 'PUT', 4: 'POST', 5: 'DELETE', 6: 'PATCH' };

/**
 * Every HTTP binding of `method`: its rule first, then its additional_bindings (one level: bindings nested inside
 * an additional binding are ignored, as the spec says they must not be set). Empty when the method has no rule.
 */
export function httpBindingsOf(method: DescMethod): HttpBinding[] {
  const unknown = method.proto.options?.$unknown ?? [];
  const occurrences = unknown.filter((f) => f.no === HTTP_RULE_EXTENSION);
  if (occurrences.length === 0) return [];
  const name = `${method.parent.typeName}.${method.name}`;
  let rule: DecodedRule;
  try {
    // Several occurrences of a message field merge, which is what decoding them one after another does.
    rule = { body: '', responseBody: '', additional: [] };
    for (const occurrence of occurrences) {
      if (occurrence.wireType !== WireType.LengthDelimited) throw new Error('the option is not length-delimited');
      decodeRule(new BinaryReader(occurrence.data).bytes(), rule);
    }
  } catch (error) {
    if (error instanceof GrpcHttpRuleError) throw error;
    throw new GrpcHttpRuleError(`malformed option: ${(error as Error).message}`, { method: name }, error);
  }
  const bindings: HttpBinding[] = [];
  for (const decoded of [rule, ...rule.additional]) {
    if (decoded.verb === undefined || decoded.template === undefined) {
      throw new GrpcHttpRuleError('a rule has no pattern (get, put, post, delete, patch or custom)', { method: name });
    }
    const binding: HttpBinding = { verb: decoded.verb, template: decoded.template };
    if (decoded.body !== '') binding.body = decoded.body;
    if (decoded.responseBody !== '') binding.responseBody = decoded.responseBody;
    bindings.push(binding);
  }
  return bindings;
}

function decodeRule(bytes: Uint8Array, into: DecodedRule): DecodedRule {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    // Every field of HttpRule (strings and messages) is length-delimited.
    if ((no <= 8 || no === 11 || no === 12) && wireType !== WireType.LengthDelimited) {
      throw new Error(`field ${no} of HttpRule has wire type ${wireType}`);
    }
    if (no === 1) reader.string();
    else if (VERB_BY_FIELD[no] !== undefined) {
      into.verb = VERB_BY_FIELD[no];
      into.template = reader.string();
    } else if (no === 7) into.body = reader.string();
    else if (no === 8) Object.assign(into, decodeCustomPattern(reader.bytes()));
    else if (no === 11) into.additional.push(decodeRule(reader.bytes(), emptyRule()));
    else if (no === 12) into.responseBody = reader.string();
    else reader.skip(wireType, no);
  }
  return into;
}

function decodeCustomPattern(bytes: Uint8Array): { verb: string; template: string } {
  const reader = new BinaryReader(bytes);
  let verb = '';
  let template = '';
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if ((no === 1 || no === 2) && wireType !== WireType.LengthDelimited) {
      throw new Error(`field ${no} of CustomHttpPattern has wire type ${wireType}`);
    }
    if (no === 1) verb = reader.string().toUpperCase();
    else if (no === 2) template = reader.string();
    else reader.skip(wireType, no);
  }
  if (verb === '') throw new Error('a custom pattern has no kind');
  return { verb, template };
}

function emptyRule(): DecodedRule {
  return { body: '', responseBody: '', additional: [] };
}
