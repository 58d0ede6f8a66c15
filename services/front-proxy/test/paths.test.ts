import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../src/errors.ts';
import { normalizePath, parseTarget, removeDotSegments, replacePrefix } from '../src/paths.ts';

test('target splits path and query; plain paths are untouched', () => {
  assert.deepEqual(parseTarget('/a/b?x=1&y=2'), { path: '/a/b', query: 'x=1&y=2' });
  assert.deepEqual(parseTarget('/a'), { path: '/a', query: '' });
  assert.deepEqual(parseTarget('http://example.com/p?q'), { path: '/p', query: 'q' });
  assert.deepEqual(parseTarget('http://example.com'), { path: '/', query: '' });
});

test('dot segments are removed so a route cannot be bypassed with ../', () => {
  assert.equal(removeDotSegments('/public/../admin'), '/admin');
  assert.equal(removeDotSegments('/a/./b/'), '/a/b/');
  assert.equal(removeDotSegments('/a/b/..'), '/a/');
  assert.equal(removeDotSegments('/../../x'), '/x');
  assert.equal(parseTarget('/public/%2e%2e/admin').path, '/admin');
});

test('unreserved escapes are decoded, others uppercased, encoded slash kept', () => {
  assert.equal(normalizePath('/%7euser/%61'), '/~user/a');
  assert.equal(normalizePath('/a%2fb'), '/a%2Fb');
  assert.equal(normalizePath('/sp%20ace'), '/sp%20ace');
});

test('bad targets are 400s', () => {
  assert.throws(() => parseTarget('*'), BadRequestError);
  assert.throws(
    () => parseTarget('/a%zz'),
    (err: BadRequestError) => err.status === 400 && /percent/.test(err.message),
  );
  assert.throws(() => parseTarget('relative/path'), BadRequestError);
});

test('ReplacePrefixMatch follows the Gateway API table', () => {
  const cases: [string, string, string, string][] = [
    ['/foo', '/foo/bar', '/xyz', '/xyz/bar'],
    ['/foo', '/foo/bar', '/xyz/', '/xyz/bar'],
    ['/foo', '/foo', '/xyz', '/xyz'],
    ['/foo', '/foo/', '/xyz', '/xyz/'],
    ['/foo', '/foo/bar', '/', '/bar'],
    ['/foo', '/foo', '/', '/'],
    ['/foo', '/foo/', '/', '/'],
    ['', '/anything', '/prefix', '/prefix/anything'],
  ];
  for (const [prefix, path, replacement, want] of cases)
    assert.equal(replacePrefix(path, prefix, replacement), want, `${prefix} ${path} ${replacement}`);
});
