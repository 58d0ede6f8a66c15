import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminBadTargetError, parseRequestTarget } from '../src/index.ts';

test('origin-form targets parse into decoded segments and a query', () => {
  const t = parseRequestTarget('/api/v1/routes/a%20b?x=1&x=2&y=%2F');
  assert.equal(t.path, '/api/v1/routes/a%20b');
  assert.deepEqual(t.segments, ['api', 'v1', 'routes', 'a b']);
  assert.deepEqual(t.query.getAll('x'), ['1', '2']);
  assert.equal(t.query.get('y'), '/', 'an encoded slash is fine in the query, which is never a path');
  assert.deepEqual(parseRequestTarget('/').segments, []);
  assert.deepEqual(parseRequestTarget('/a/..b/.c/b..').segments, ['a', '..b', '.c', 'b..'], 'dots inside names');
});

test('refusals name the request-target', () => {
  for (const target of [
    '/a/../b',
    '/a\\b',
    '/a//b',
    '/%2e%2E/x',
    '/a/..;x/b',
    '/a/;x/b',
    '/a%2fb',
    '/a%5cb',
    '/%c3%28',
  ]) {
    assert.throws(
      () => parseRequestTarget(target),
      (err: unknown) =>
        err instanceof AdminBadTargetError &&
        err.status === 400 &&
        err.code === 'PORTICO_ERR_ADMIN_BAD_TARGET' &&
        err.details[0]?.path === 'request-target',
      target,
    );
  }
});

/** A small deterministic PRNG (mulberry32) so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('generated targets: whatever is accepted means the same to a WHATWG URL reader and to us', () => {
  // Pieces chosen to hit separators, dot segments, escapes and path parameters in every combination.
  const pieces = [
    '/',
    '/',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2f',
    '%5c',
    '%25',
    '\\',
    ';',
    ';x',
    'a',
    'api',
    'v1',
    '%41',
    '?',
    '#',
    '%',
    '%0',
    ' ',
  ];
  const next = random(9);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    let target = '/';
    const length = 1 + Math.floor(next() * 8);
    for (let j = 0; j < length; j++) target += pieces[Math.floor(next() * pieces.length)];
    let parsed: ReturnType<typeof parseRequestTarget>;
    try {
      parsed = parseRequestTarget(target);
    } catch (err) {
      assert.ok(err instanceof AdminBadTargetError, `${target}: ${String(err)}`);
      continue;
    }
    accepted++;
    // A WHATWG reader (a backend, a browser) keeps the path exactly: nothing it would collapse got through.
    const url = new URL(target, 'http://x.invalid');
    assert.equal(url.pathname, parsed.path, target);
    // And it splits it into the same segments.
    assert.deepEqual(
      url.pathname
        .split('/')
        .slice(1)
        .filter((_, _k, all) => all.length > 1 || all[0] !== '')
        .map(decodeURIComponent),
      parsed.segments,
      target,
    );
    for (const segment of parsed.segments) {
      assert.ok(!/[/\\]/.test(segment), `${target}: a segment decodes to a separator`);
      const bare = segment.split(';', 1)[0];
      assert.ok(bare !== '' && bare !== '.' && bare !== '..', `${target}: a dot or empty segment`);
    }
  }
  assert.ok(accepted > 500, `only ${accepted} accepted: the generator no longer exercises acceptance`);
});
