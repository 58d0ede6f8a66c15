import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../src/errors.ts';
import {
  DEFAULT_PATH_POLICY,
  normalizePath,
  type PathPolicy,
  parseTarget,
  removeDotSegments,
  replacePrefix,
  resolvePathPolicy,
} from '../src/paths.ts';

const KEEP = resolvePathPolicy({ escapedSlashes: 'keep' });
const UNESCAPE = resolvePathPolicy({ escapedSlashes: 'unescape' });
const NO_SEMICOLONS = resolvePathPolicy({ semicolons: 'reject' });
const MERGE = resolvePathPolicy({ mergeSlashes: true });

/** Asserts a 400 whose message matches `why`. */
function refused(target: string, why: RegExp, policy: Readonly<PathPolicy> = DEFAULT_PATH_POLICY): void {
  assert.throws(
    () => parseTarget(target, policy),
    (err: unknown) => {
      assert.ok(err instanceof BadRequestError, `${JSON.stringify(target)}: ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'PORTICO_ERR_PROXY_BAD_REQUEST');
      assert.match(err.message, why, JSON.stringify(target));
      assert.equal(err.details[0]?.path, 'request-target');
      return true;
    },
    JSON.stringify(target),
  );
}

test('the defaults are reject / keep / no merge, frozen', () => {
  assert.deepEqual({ ...DEFAULT_PATH_POLICY }, { escapedSlashes: 'reject', semicolons: 'keep', mergeSlashes: false });
  assert.ok(Object.isFrozen(DEFAULT_PATH_POLICY));
  assert.deepEqual({ ...resolvePathPolicy() }, { ...DEFAULT_PATH_POLICY });
  assert.ok(Object.isFrozen(resolvePathPolicy({ mergeSlashes: true })));
});

test('a bad policy option is a TypeError naming it', () => {
  assert.throws(
    () => resolvePathPolicy({ escapedSlashes: 'decode' as never }),
    /pathPolicy\.escapedSlashes must be one of reject, keep, unescape, got decode/,
  );
  assert.throws(() => resolvePathPolicy({ semicolons: 'strip' as never }), /pathPolicy\.semicolons must be one of/);
  assert.throws(
    () => resolvePathPolicy({ mergeSlashes: 'yes' as never }),
    /pathPolicy\.mergeSlashes must be a boolean/,
  );
});

test('target splits path and query; plain paths come back as the same string', () => {
  assert.deepEqual(parseTarget('/a/b?x=1&y=2'), { path: '/a/b', query: 'x=1&y=2' });
  assert.deepEqual(parseTarget('/a'), { path: '/a', query: '' });
  assert.deepEqual(parseTarget('/'), { path: '/', query: '' });
  assert.deepEqual(parseTarget('/a?'), { path: '/a', query: '' });
  // A backslash, `;` or `/.` in the query is no path concern.
  assert.deepEqual(parseTarget('/a?p=/../x\\y;z'), { path: '/a', query: 'p=/../x\\y;z' });
  const plain = '/api/v1/orders/42';
  assert.equal(parseTarget(plain).path, plain);
});

test('absolute-form keeps its path and reports its authority', () => {
  assert.deepEqual(parseTarget('http://example.com/p?q'), { path: '/p', query: 'q', authority: 'example.com' });
  assert.deepEqual(parseTarget('HTTPS://Example.com:8443'), { path: '/', query: '', authority: 'Example.com:8443' });
  assert.deepEqual(parseTarget('http://example.com?q=1'), { path: '/', query: 'q=1', authority: 'example.com' });
  // The path of an absolute-form target gets the same rules as any other.
  assert.deepEqual(parseTarget('http://h/a/%2e%2e/b'), { path: '/b', query: '', authority: 'h' });
  refused('http://h/a\\b', /backslash/);
  refused('http:///x', /no host/);
  refused('http://', /no host/);
  refused('ftp://h/x', /must start with "\/" or be an http\(s\) URL/);
  refused('*', /must start with/);
  refused('relative/path', /must start with/);
});

test('dot segments are removed so a route cannot be bypassed with ../', () => {
  assert.equal(removeDotSegments('/public/../admin'), '/admin');
  assert.equal(removeDotSegments('/a/./b/'), '/a/b/');
  assert.equal(removeDotSegments('/a/b/..'), '/a/');
  assert.equal(removeDotSegments('/../../x'), '/x');
  assert.equal(parseTarget('/public/%2e%2e/admin').path, '/admin');
  assert.equal(parseTarget('/a/%2e%2e/b').path, '/b');
  assert.equal(parseTarget('/a/.%2E/b').path, '/b');
  assert.equal(parseTarget('/a/%2e/b').path, '/a/b');
  assert.equal(parseTarget('/a/b/%2e%2e').path, '/a/');
  // Not dot segments: names that merely start or end with dots.
  assert.equal(parseTarget('/.well-known/x').path, '/.well-known/x');
  assert.equal(parseTarget('/a/...').path, '/a/...');
  assert.equal(parseTarget('/a/..b').path, '/a/..b');
});

test('unreserved escapes are decoded, others uppercased, raw high bytes encoded', () => {
  assert.equal(normalizePath('/%7euser/%61'), '/~user/a');
  assert.equal(normalizePath('/sp%20ace'), '/sp%20ace');
  assert.equal(normalizePath('/%3f%23%25'), '/%3F%23%25');
  // `%25` stays encoded: one decode by the backend gives `%2e`, not `.`.
  assert.equal(parseTarget('/a/%252e%252e/b').path, '/a/%252e%252e/b');
  // Latin-1 as an HTTP/2 :path carries it; the forwarded path is ASCII.
  assert.equal(parseTarget('/caf\u00e9').path, '/caf%E9');
  assert.equal(parseTarget('/x?caf\u00e9').query, 'caf%E9');
  refused('/a%zz', /percent/);
  refused('/a%2', /percent/);
  refused('/a%', /percent/);
  refused('/\u0100', /Latin-1/);
});

test('a raw backslash is always a 400', () => {
  for (const policy of [DEFAULT_PATH_POLICY, KEEP, UNESCAPE, MERGE]) {
    refused('/echo/..\\..\\api\\v1\\apply', /backslash/, policy);
    refused('/a\\b', /backslash/, policy);
    refused('/\\', /backslash/, policy);
  }
});

test('control bytes, space, DEL and NUL are a 400, raw or escaped', () => {
  for (const policy of [DEFAULT_PATH_POLICY, KEEP, UNESCAPE]) {
    for (const b of [0, 1, 9, 10, 13, 0x1f, 0x7f]) {
      const hex = b.toString(16).padStart(2, '0');
      refused(`/a%${hex}b`, /encoded control character/, policy);
      refused(`/a%${hex.toUpperCase()}b`, /encoded control character/, policy);
      refused(`/a${String.fromCharCode(b)}b`, /control character/, policy);
    }
    refused('/a b', /control character or space/, policy);
    refused('/a?b\u0000', /control character or space in query/, policy);
    refused('/a?b c', /in query/, policy);
  }
});

test('a fragment is a 400 in the path and in the query', () => {
  refused('/a#b', /fragment/);
  refused('/a?b#c', /fragment/);
  // An escaped `#` is data.
  assert.equal(parseTarget('/a%23b').path, '/a%23b');
});

test('escapedSlashes: reject (default) answers 400 to %2F and %5C', () => {
  for (const t of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a%5cb', '/a/..%2F..%2Fadmin', '/%2F'])
    refused(t, /encoded (slash|backslash)/, DEFAULT_PATH_POLICY);
});

test('escapedSlashes: keep leaves them encoded (uppercase) and opaque to dot-segment removal', () => {
  assert.equal(parseTarget('/a%2fb', KEEP).path, '/a%2Fb');
  assert.equal(parseTarget('/a%5cb', KEEP).path, '/a%5Cb');
  assert.equal(parseTarget('/a/..%2Fb', KEEP).path, '/a/..%2Fb');
  assert.equal(parseTarget('/a/b/..%2F', KEEP).path, '/a/b/..%2F');
});

test('escapedSlashes: unescape turns both into / before dot segments are removed', () => {
  assert.equal(parseTarget('/a%2fb', UNESCAPE).path, '/a/b');
  assert.equal(parseTarget('/a%5Cb', UNESCAPE).path, '/a/b');
  assert.equal(parseTarget('/x/..%2F..%2Fadmin', UNESCAPE).path, '/admin');
  assert.equal(parseTarget('/x/%2e%2e%5cadmin', UNESCAPE).path, '/admin');
});

test('a dot segment with ;params is a 400 under every policy', () => {
  for (const policy of [DEFAULT_PATH_POLICY, KEEP, UNESCAPE, MERGE]) {
    for (const t of [
      '/a/..;/b',
      '/a/..;jsessionid=x/b',
      '/a/.;x/b',
      '/a/..;',
      '/..;/admin',
      '/a/%2e%2e;/b',
      '/a/.%2E;x/b',
      '/a/..%3B/b',
      '/a/..%3bx=1/b',
    ])
      refused(t, /dot segment with path parameters/, policy);
  }
  // unescape makes new segments: `..;` after %2F is a dot segment too.
  refused('/a%2F..;/b', /dot segment with path parameters/, UNESCAPE);
});

test('semicolons: keep (default) passes other path parameters on', () => {
  assert.equal(parseTarget('/a;v=1/b').path, '/a;v=1/b');
  assert.equal(parseTarget('/a/;x/b').path, '/a/;x/b');
  assert.equal(parseTarget('/a/...;x').path, '/a/...;x');
  assert.equal(parseTarget('/a%3bb').path, '/a%3Bb');
});

test('semicolons: reject answers 400 to ; and %3B', () => {
  refused('/a;v=1/b', /semicolon/, NO_SEMICOLONS);
  refused('/a%3Bb', /semicolon/, NO_SEMICOLONS);
  refused('/a%3bb', /semicolon/, NO_SEMICOLONS);
  assert.equal(parseTarget('/a?x;y', NO_SEMICOLONS).query, 'x;y');
});

test('mergeSlashes: false (default) keeps empty segments, true collapses them', () => {
  assert.equal(parseTarget('/a//b').path, '/a//b');
  assert.equal(parseTarget('//a').path, '//a');
  assert.equal(parseTarget('/a//b', MERGE).path, '/a/b');
  assert.equal(parseTarget('//a///b/', MERGE).path, '/a/b/');
  assert.equal(parseTarget('/a//../b', MERGE).path, '/b');
  assert.equal(parseTarget('/a//../b').path, '/a/b');
  assert.equal(parseTarget('/.//x', MERGE).path, '/x');
});

test('normalizing is idempotent: a second proxy hop would forward the same path', () => {
  const targets = ['/a/%2e%2e/b', '/%7e/x%2fy', '/caf\u00e9/%c3%a9', '/a;p/./b/../c', '/x/%41%3b'];
  for (const policy of [KEEP, UNESCAPE, resolvePathPolicy({ escapedSlashes: 'keep', mergeSlashes: true })]) {
    for (const t of targets) {
      const once = parseTarget(t, policy).path;
      assert.equal(parseTarget(once, policy).path, once, `${t} under ${JSON.stringify(policy)}`);
    }
  }
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
