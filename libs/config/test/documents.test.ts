import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigInvalidError,
  durationMs,
  formatDetail,
  KINDS,
  kindFromName,
  kindPlural,
  parseDocuments,
} from '../src/index.ts';

const SERVICE = 'apiVersion: portico.dev/v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n';

test('durationMs adds up Gateway API durations', () => {
  assert.equal(durationMs('1m30s'), 90_000);
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('1ms'), 1);
  assert.equal(durationMs('1h1m1s1ms'), 3_661_001);
  assert.equal(durationMs('0s'), 0);
});

test('kindFromName takes plural, singular and any case; kindPlural is the URL segment', () => {
  assert.equal(kindFromName('routes'), 'Route');
  assert.equal(kindFromName('Route'), 'Route');
  assert.equal(kindFromName('SERVICES'), 'Service');
  assert.equal(kindFromName('certificate'), 'Certificate');
  assert.equal(kindFromName('widgets'), undefined);
  assert.equal(kindFromName(''), undefined);
  for (const k of KINDS) assert.equal(kindFromName(kindPlural(k)), k);
  assert.equal(kindPlural('Service'), 'services');
});

test('multi-document YAML: each document validated and named', () => {
  const text = `${SERVICE}---\napiVersion: portico.dev/v1\nkind: Route\nmetadata: {name: r}\nspec: {rules: [{backendRefs: [{name: s, weight: -1}]}]}\n`;
  const parsed = parseDocuments(text, 'config.yaml');
  assert.equal(parsed.resources.length, 1);
  assert.equal(parsed.resources[0]?.kind, 'Service');
  assert.deepEqual(parsed.errors, [
    {
      path: 'spec.rules[0].backendRefs[0].weight',
      message: parsed.errors[0]?.message,
      document: 'config.yaml#1 (Route/r)',
    },
  ]);
});

test('a YAML syntax error in one document is reported for that document; the others still parse', () => {
  const parsed = parseDocuments(
    `${SERVICE}---\nkey: [unclosed\n---\n${SERVICE.replace('name: s', 'name: t')}`,
    'f.yaml',
  );
  assert.deepEqual(
    parsed.resources.map((r) => r.metadata.name),
    ['s', 't'],
  );
  assert.equal(parsed.errors.length, 1);
  assert.equal(parsed.errors[0]?.document, 'f.yaml#1');
  assert.match(parsed.errors[0]!.message, /line \d+, column \d+/);
  assert.deepEqual(parsed.parseErrors, parsed.errors, 'a syntax error is a parse error, not a schema error');
});

test('schema errors are not parse errors', () => {
  const parsed = parseDocuments('apiVersion: portico.dev/v1\nkind: Route\nmetadata: {name: r}\nspec: {}\n', 'f');
  assert.ok(parsed.errors.length > 0);
  assert.deepEqual(parsed.parseErrors, []);
});

/** Nine anchors, each a list of nine aliases of the one before: 9^9 strings once expanded. */
const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
].join('\n');

test('a YAML alias bomb is a parse error naming the document, not a throw', () => {
  const parsed = parseDocuments(`${SERVICE}---\n${BILLION_LAUGHS}\n`, 'bomb.yaml');
  assert.equal(parsed.resources.length, 1, 'the good document still parses');
  assert.equal(parsed.parseErrors.length, 1);
  assert.equal(parsed.parseErrors[0]?.document, 'bomb.yaml#1');
  assert.match(parsed.parseErrors[0]!.message, /more than 100 alias expansions/);
  // A few aliases are fine: YAML anchors are a normal way to repeat a block.
  const few = parseDocuments(
    'apiVersion: portico.dev/v1\nkind: Service\nmetadata: {name: s}\nspec: &s {}\nx: *s\n',
    'few.yaml',
  );
  assert.deepEqual(few.parseErrors, []);
  const unresolved = parseDocuments('a: *nowhere\n', 'u.yaml');
  assert.equal(unresolved.parseErrors[0]?.document, 'u.yaml#0');
});

test('a document nested past the depth limit is a parse error, whatever the nesting is made of', () => {
  const deep: Record<string, string> = {
    flow: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    flowMaps: `${'{a: '.repeat(500)}`,
    compactSeq: `${'- '.repeat(500)}x`,
    tagged: `${'!!seq [&a '.repeat(500)}`,
    tagAfterDash: `${'- !!seq\n'.repeat(1)}${'- &x [!t {k: [&y '.repeat(100)}`,
    indented: Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
  };
  for (const [name, text] of Object.entries(deep)) {
    const started = Date.now();
    const parsed = parseDocuments(`${SERVICE}---\n${text}\n`, name);
    assert.equal(parsed.parseErrors.length, 1, name);
    assert.equal(parsed.parseErrors[0]?.document, `${name}#1`, name);
    assert.match(parsed.parseErrors[0]!.message, /nested deeper than 64 levels/, name);
    assert.ok(Date.now() - started < 1000, `${name}: refused before the yaml parser ran`);
  }
  // Brackets, dashes and quotes that are text do not count.
  const text = [
    'apiVersion: portico.dev/v1',
    'kind: Certificate',
    'metadata: {name: c}',
    "spec: {note: 'it''s [[[[', other: \"{{{{ \\\" [[[[\"}",
    'script: |',
    ...Array.from({ length: 100 }, () => '  [[[[ - - - - {{{{'),
    'plain: a[b{c - d [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
    '# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  ].join('\n');
  assert.deepEqual(parseDocuments(text, 'ok').parseErrors, []);
});

test('JSON works (a single object or an array of resources); empty documents are skipped', () => {
  const one = parseDocuments(
    JSON.stringify({ apiVersion: 'portico.dev/v1', kind: 'Service', metadata: { name: 'j' }, spec: {} }),
  );
  assert.equal(one.resources[0]?.metadata.name, 'j');
  const many = parseDocuments(
    JSON.stringify([
      { apiVersion: 'portico.dev/v1', kind: 'Service', metadata: { name: 'a' }, spec: {} },
      { apiVersion: 'portico.dev/v1', kind: 'Service', metadata: { name: 'B' }, spec: {} },
    ]),
    'list.json',
  );
  assert.equal(many.resources.length, 1);
  assert.equal(many.errors[0]?.document, 'list.json#0[1] (Service/B)');
  assert.deepEqual(parseDocuments('---\n---\n'), { resources: [], errors: [], parseErrors: [] });
});

test('ConfigInvalidError carries the details and says where in its message', () => {
  const err = new ConfigInvalidError([{ document: 'f#0 (Route/r)', path: 'spec.rules', message: 'too few' }]);
  assert.equal(err.code, 'PORTICO_ERR_CONFIG_INVALID');
  assert.equal(err.status, 400);
  assert.equal(err.message, 'invalid config: f#0 (Route/r) spec.rules: too few');
  assert.equal(formatDetail({ message: 'bare' }), 'bare');
  assert.deepEqual(err.toJSON().error.details, [{ document: 'f#0 (Route/r)', path: 'spec.rules', message: 'too few' }]);
});
