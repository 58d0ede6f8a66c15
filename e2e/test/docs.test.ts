/** The README is the error reference: every error code the sources can raise must be listed there. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

test('every PORTICO_ERR_* code in libs/ and services/ is documented in the README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const codes = new Set<string>();
  for (const file of [...sources(join(root, 'libs')), ...sources(join(root, 'services'))])
    for (const m of readFileSync(file, 'utf8').matchAll(/'(PORTICO_ERR_[A-Z0-9_]+)'/g)) codes.add(m[1]!);
  assert.ok(codes.size > 20, `found only ${codes.size} codes: the scan is broken`);
  const missing = [...codes].filter((c) => !readme.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
});

test('the README shows the two commands a newcomer needs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const top = readme.slice(0, 600);
  assert.match(top, /npm ci && npm start/);
  assert.match(top, /npm test/);
});
