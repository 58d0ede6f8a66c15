import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/index.ts';
import { req, route, winner } from './fixtures.ts';

const one = (path: unknown) => compileRoutes([route('r', { rules: [{ matches: [{ path }] }] })]);

test('PathPrefix is element-wise: /foo matches /foo, /foo/, /foo/bar but not /foobar or /fo', () => {
  const t = one({ type: 'PathPrefix', value: '/foo' });
  for (const p of ['/foo', '/foo/', '/foo/bar', '/foo/bar/baz', '/foo//x']) assert.equal(winner(t, req(p)), 'r#0.0', p);
  for (const p of ['/foobar', '/fo', '/', '/bar/foo', '/FOO']) assert.equal(winner(t, req(p)), null, p);
});

test('a trailing / in the configured prefix is ignored', () => {
  const t = one({ type: 'PathPrefix', value: '/foo/' });
  for (const p of ['/foo', '/foo/', '/foo/bar']) assert.equal(winner(t, req(p)), 'r#0.0', p);
  assert.equal(winner(t, req('/foobar')), null);
  assert.equal(t.match(req('/foo/bar'))?.matchedPrefix, '/foo');
});

test('multi-segment prefixes match on segment boundaries only', () => {
  const t = one({ type: 'PathPrefix', value: '/v1/api' });
  assert.equal(winner(t, req('/v1/api/x')), 'r#0.0');
  assert.equal(winner(t, req('/v1/api')), 'r#0.0');
  assert.equal(winner(t, req('/v1/apis')), null);
  assert.equal(winner(t, req('/v1')), null);
});

test('PathPrefix / matches every path; matchedPrefix is then the empty string', () => {
  const t = one({ type: 'PathPrefix', value: '/' });
  for (const p of ['/', '/a', '/a/b/', '/a?b']) assert.equal(winner(t, req(p)), 'r#0.0', p);
  assert.equal(t.match(req('/a'))?.matchedPrefix, '');
});

test('a rule without matches, and a match without a path, are PathPrefix /', () => {
  const t = compileRoutes([
    route('no-matches', { hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 's' }] }] }),
    route('no-path', { hostnames: ['b.example.com'], rules: [{ matches: [{ method: 'GET' }] }] }),
  ]);
  const a = t.match(req('/anything/at/all', { host: 'a.example.com' }));
  assert.equal(a?.route.metadata.name, 'no-matches');
  assert.equal(a?.matchedPrefix, '');
  assert.equal(winner(t, req('/x', { host: 'b.example.com' })), 'no-path#0.0');
  assert.equal(winner(t, req('/x', { host: 'b.example.com', method: 'POST' })), null);
});

test('Exact matches the whole path, case-sensitively, trailing slash significant', () => {
  const t = one({ type: 'Exact', value: '/foo' });
  assert.equal(winner(t, req('/foo')), 'r#0.0');
  for (const p of ['/foo/', '/foo/bar', '/Foo', '/fo', '/foobar']) assert.equal(winner(t, req(p)), null, p);
  assert.equal(t.match(req('/foo'))?.matchedPrefix, undefined);
});

test('RegularExpression is anchored: a full match of the path', () => {
  const t = one({ type: 'RegularExpression', value: '/foo/[0-9]+' });
  assert.equal(winner(t, req('/foo/123')), 'r#0.0');
  for (const p of ['/foo/123/x', '/x/foo/123', '/foo/', '/foo/12a']) assert.equal(winner(t, req(p)), null, p);
});

test('anchoring wraps alternations: a|b must match the whole path either way', () => {
  const t = one({ type: 'RegularExpression', value: '/a|/b' });
  assert.equal(winner(t, req('/a')), 'r#0.0');
  assert.equal(winner(t, req('/b')), 'r#0.0');
  assert.equal(winner(t, req('/ab')), null);
  assert.equal(winner(t, req('/a/x')), null);
  assert.equal(winner(t, req('/x/b')), null);
});

test('the query is not part of the path', () => {
  const t = one({ type: 'Exact', value: '/search' });
  assert.equal(winner(t, req('/search?q=1')), 'r#0.0');
});
