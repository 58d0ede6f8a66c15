/**
 * The HTTP routes of a set of gRPC services: every `google.api.http` binding, plus `POST /<package>.<Service>/<Method>`
 * for every method, in one segment trie.
 *
 * Precedence, when several templates match a path: segments are compared from the left and at the first segment
 * where they differ a literal beats `*` (or a one-segment variable), and `*` beats `**`. A template with a
 * `:verb` beats one without (the verb is split off the last segment first; without a match, the whole last
 * segment is tried as a plain segment). Two bindings with the same verb and the same template shape: the first
 * (in service and method order) wins and the other is reported in `invalid`.
 */
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { GrpcHttpRuleError } from './errors.ts';
import { expectedValue, isWellKnown, resolveFieldPath } from './field-path.ts';
import { type HttpBinding, httpBindingsOf } from './http-rule.ts';
import {
  type PathTemplate,
  parsePathTemplate,
  percentDecode,
  type TemplateSegment,
  templateParams,
} from './path-template.ts';

export interface HttpMethodMatch {
  kind: 'match';
  method: DescMethod;
  binding: HttpBinding;
  template: PathTemplate;
  /** Path variables in template order: dotted field path and decoded value. */
  params: Array<[fieldPath: string, value: string]>;
}

export type HttpMethodLookup =
  | HttpMethodMatch
  /** 404: no template matches the path. */
  | { kind: 'notFound' }
  /** 405: templates match the path, for other verbs. */
  | { kind: 'methodNotAllowed'; allowed: string[] };

interface Entry {
  method: DescMethod;
  binding: HttpBinding;
  template: PathTemplate;
}

interface TrieNode {
  literal: Map<string, TrieNode>;
  wildcard?: TrieNode;
  deep?: TrieNode;
  /** custom verb ('' for none) -> HTTP verb -> entry. */
  ends: Map<string, Map<string, Entry>>;
}

export class HttpMethodTable {
  /** Bindings left out: malformed options, bad templates, unknown fields, duplicates. Each names its method. */
  readonly invalid: GrpcHttpRuleError[] = [];
  readonly #root: TrieNode = node();
  /**
   * Bindings whose template is literal segments only (every plain `/<pkg>.<Service>/<Method>` among them), by
   * `<VERB> <path>`: such a template wins over any other matching the same path, so a path written the same way
   * skips the trie.
   */
  readonly #exact = new Map<string, HttpMethodMatch>();

  constructor(services: readonly DescService[]) {
    for (const service of services) {
      for (const method of service.methods) {
        const name = `${service.typeName}.${method.name}`;
        this.#add(method, { verb: 'POST', template: `/${service.typeName}/${method.name}`, body: '*' });
        let bindings: HttpBinding[] = [];
        try {
          bindings = httpBindingsOf(method);
        } catch (error) {
          this.invalid.push(error as GrpcHttpRuleError);
        }
        for (const binding of bindings) {
          try {
            this.#add(method, binding, name);
          } catch (error) {
            if (!(error instanceof GrpcHttpRuleError)) throw error;
            this.invalid.push(error);
          }
        }
      }
    }
  }

  /** The method bound to `httpMethod` and `path` (a query string, if any, is ignored). */
  match(httpMethod: string, path: string): HttpMethodLookup {
    const verb = httpMethod.toUpperCase();
    const query = path.indexOf('?');
    const rawPath = query >= 0 ? path.slice(0, query) : path;
    // Nothing to decode and no custom verb: the path is what a literal template reads.
    if (rawPath.indexOf('%') === -1 && rawPath.indexOf(':') === -1) {
      const exact = this.#exact.get(`${verb} ${rawPath}`);
      if (exact !== undefined) return exact;
    }
    if (!rawPath.startsWith('/')) return { kind: 'notFound' };
    const segments = rawPath.slice(1).split('/');
    const allowed = new Set<string>();
    const last = segments.at(-1) ?? '';
    const colon = last.lastIndexOf(':');
    const attempts: Array<[string[], string]> = [];
    if (colon >= 0) attempts.push([[...segments.slice(0, -1), last.slice(0, colon)], last.slice(colon + 1)]);
    attempts.push([segments, '']);
    for (const [parts, customVerb] of attempts) {
      const decoded = parts.map((s) => percentDecode(s, false));
      const entry = find(this.#root, decoded, 0, customVerb, verb, allowed);
      if (entry) {
        return {
          kind: 'match',
          method: entry.method,
          binding: entry.binding,
          template: entry.template,
          params: templateParams(entry.template, parts),
        };
      }
    }
    return allowed.size > 0 ? { kind: 'methodNotAllowed', allowed: [...allowed].sort() } : { kind: 'notFound' };
  }

  #add(method: DescMethod, binding: HttpBinding, name = `${method.parent.typeName}.${method.name}`): void {
    const template = parsePathTemplate(binding.template, name);
    checkFields(method, binding, template, name);
    let at = this.#root;
    for (const segment of template.segments) at = child(at, segment);
    const customVerb = template.verb ?? '';
    const byVerb = at.ends.get(customVerb) ?? new Map<string, Entry>();
    at.ends.set(customVerb, byVerb);
    const taken = byVerb.get(binding.verb);
    // A method annotated with its own plain path is bound once.
    if (taken?.method === method && taken.template.source === template.source) return;
    if (taken) {
      const other = `${taken.method.parent.typeName}.${taken.method.name}`;
      throw new GrpcHttpRuleError(`${binding.verb} ${taken.template.source} of ${other} already matches these paths`, {
        method: name,
        template: binding.template,
      });
    }
    byVerb.set(binding.verb, { method, binding, template });
    if (
      template.verb === undefined &&
      template.variables.length === 0 &&
      template.segments.every((s) => s.kind === 'literal')
    ) {
      const path = `/${template.segments.map((s) => (s as { value: string }).value).join('/')}`;
      const params: Array<[string, string]> = [];
      this.#exact.set(`${binding.verb} ${path}`, Object.freeze({ kind: 'match', method, binding, template, params }));
    }
  }
}

function node(): TrieNode {
  return { literal: new Map(), ends: new Map() };
}

function child(at: TrieNode, segment: TemplateSegment): TrieNode {
  if (segment.kind === 'wildcard') {
    at.wildcard ??= node();
    return at.wildcard;
  }
  if (segment.kind === 'deepWildcard') {
    at.deep ??= node();
    return at.deep;
  }
  const next = at.literal.get(segment.value) ?? node();
  at.literal.set(segment.value, next);
  return next;
}

/** Depth-first in precedence order: literal, then `*`, then `**`. Collects the verbs of paths matched otherwise. */
function find(
  at: TrieNode,
  segments: readonly string[],
  index: number,
  customVerb: string,
  verb: string,
  allowed: Set<string>,
): Entry | undefined {
  if (index === segments.length) {
    const hit = terminal(at, customVerb, verb, allowed);
    if (hit) return hit;
  } else {
    const literal = at.literal.get(segments[index] as string);
    const viaLiteral = literal && find(literal, segments, index + 1, customVerb, verb, allowed);
    if (viaLiteral) return viaLiteral;
    const viaWildcard = at.wildcard && find(at.wildcard, segments, index + 1, customVerb, verb, allowed);
    if (viaWildcard) return viaWildcard;
  }
  // `**` takes every remaining segment, none included.
  return at.deep && terminal(at.deep, customVerb, verb, allowed);
}

function terminal(at: TrieNode, customVerb: string, verb: string, allowed: Set<string>): Entry | undefined {
  const byVerb = at.ends.get(customVerb);
  if (!byVerb) return undefined;
  const entry = byVerb.get(verb);
  if (!entry) for (const other of byVerb.keys()) allowed.add(other);
  return entry;
}

/** Path variables name singular fields with a string form; `body` and `response_body` name top-level fields. */
function checkFields(method: DescMethod, binding: HttpBinding, template: PathTemplate, name: string): void {
  const where = { method: name, template: binding.template };
  for (const variable of template.variables) {
    const fields = resolveFieldPath(method.input, variable.fieldPath);
    if (typeof fields === 'string') throw new GrpcHttpRuleError(`path variable: ${fields}`, where);
    const leaf = fields.at(-1)!;
    if (leaf.fieldKind === 'list' || leaf.fieldKind === 'map') {
      throw new GrpcHttpRuleError(`path variable "${variable.fieldPath}" names a repeated or map field`, where);
    }
    if (leaf.fieldKind === 'message' && !isWellKnown(leaf.message)) {
      throw new GrpcHttpRuleError(
        `path variable "${variable.fieldPath}" names a message field (${expectedValue(leaf)}); bind one of its fields`,
        where,
      );
    }
  }
  if (binding.body !== undefined && binding.body !== '*' && !method.input.fields.some((f) => f.name === binding.body)) {
    throw new GrpcHttpRuleError(`body: ${method.input.typeName} has no field "${binding.body}"`, where);
  }
  if (binding.responseBody !== undefined && !method.output.fields.some((f) => f.name === binding.responseBody)) {
    throw new GrpcHttpRuleError(
      `response_body: ${method.output.typeName} has no field "${binding.responseBody}"`,
      where,
    );
  }
}
