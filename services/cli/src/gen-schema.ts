/**
 * Writes libs/config/schema/portico.schema.json, the JSON Schema shipped for editors:
 *   node services/cli/src/gen-schema.ts
 * A test fails when the shipped file differs from what the schemas generate now.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '@portico/config';

export const SCHEMA_FILE = fileURLToPath(new URL('../../../libs/config/schema/portico.schema.json', import.meta.url));

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, renderSchema());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
