import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KINDS } from '@portico/config';
import { renderSchema, SCHEMA_FILE } from '../src/gen-schema.ts';

test('libs/config/schema/portico.schema.json is up to date (regenerate: node services/cli/src/gen-schema.ts)', () => {
  const shipped = readFileSync(SCHEMA_FILE, 'utf8');
  assert.equal(shipped, renderSchema());
  const schema = JSON.parse(shipped) as { $id: string; anyOf: unknown[] };
  assert.equal(schema.$id, 'https://portico.dev/schemas/v1/config.json');
  assert.equal(schema.anyOf.length, KINDS.length);
});
