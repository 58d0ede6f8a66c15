import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configJsonSchema, KINDS } from '../src/index.ts';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; anyOf?: Schema[]; items?: Schema };

test('one schema with a branch per kind, closed objects and defaults', () => {
  const schema = configJsonSchema() as Schema;
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.$id, 'https://portico.dev/schemas/v1/config.json');
  const branches = schema.anyOf!;
  assert.deepEqual(
    branches.map((b) => (b.properties!.kind as Schema).const),
    KINDS,
  );
  const route = branches[0]!;
  assert.equal(route.additionalProperties, false, 'unknown top-level keys are flagged by editors too');
  assert.deepEqual(route.required, ['apiVersion', 'kind', 'metadata', 'spec']);
  const rule = ((route.properties!.spec as Schema).properties!.rules as Schema).items!;
  assert.equal(rule.additionalProperties, false);
  const backendRef = (rule.properties!.backendRefs as Schema).items!;
  assert.equal((backendRef.properties!.weight as Schema).default, 1);
  const timeouts = rule.properties!.timeouts as Schema;
  assert.match(String((timeouts.properties!.request as Schema).pattern), /\(h\|m\|s\|ms\)/);
  // Input schema: defaulted fields are optional for authors.
  assert.ok(!((backendRef.required as string[] | undefined) ?? []).includes('weight'));
});

test('the schema is plain JSON (no functions, no undefined)', () => {
  const schema = configJsonSchema();
  assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
});
