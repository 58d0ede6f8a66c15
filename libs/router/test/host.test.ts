import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/index.ts';
import { req, route, winner } from './fixtures.ts';

const at = (host: string, path = '/') => req(path, { host });

test('an exact hostname matches only that host', () => {
  const t = compileRoutes([route('api', { hostnames: ['api.example.com'], rules: [{}] })]);
  assert.equal(winner(t, at('api.example.com')), 'api#0.0');
  for (const h of ['example.com', 'x.api.example.com', 'api.example.org', '']) assert.equal(winner(t, at(h)), null, h);
});

test('a wildcard matches one or more labels, never the bare suffix', () => {
  const t = compileRoutes([route('w', { hostnames: ['*.example.com'], rules: [{}] })]);
  for (const h of ['a.example.com', 'a.b.example.com', 'x-y.example.com']) assert.equal(winner(t, at(h)), 'w#0.0', h);
  for (const h of ['example.com', 'aexample.com', 'example.com.evil.io', 'a.example.org']) {
    assert.equal(winner(t, at(h)), null, h);
  }
});

test('a route with no hostnames matches any host', () => {
  const t = compileRoutes([route('any', { rules: [{}] })]);
  for (const h of ['a.com', 'x.y.z', 'localhost', '']) assert.equal(winner(t, at(h)), 'any#0.0', h);
});

test('the most specific host group wins: exact > longest wildcard suffix > no hostnames', () => {
  const t = compileRoutes([
    route('any', { rules: [{}] }),
    route('wide', { hostnames: ['*.example.com'], rules: [{}] }),
    route('narrow', { hostnames: ['*.eu.example.com'], rules: [{}] }),
    route('exact', { hostnames: ['shop.eu.example.com'], rules: [{}] }),
  ]);
  assert.equal(winner(t, at('shop.eu.example.com')), 'exact#0.0');
  assert.equal(winner(t, at('cart.eu.example.com')), 'narrow#0.0');
  assert.equal(winner(t, at('a.b.eu.example.com')), 'narrow#0.0');
  assert.equal(winner(t, at('eu.example.com')), 'wide#0.0');
  assert.equal(winner(t, at('us.example.com')), 'wide#0.0');
  assert.equal(winner(t, at('example.com')), 'any#0.0');
  assert.equal(winner(t, at('other.org')), 'any#0.0');
});

test('no fall-through: a miss in the chosen host group is a miss, even if a wider group would match', () => {
  const t = compileRoutes([
    route('any', { rules: [{}] }),
    route('wild', {
      hostnames: ['*.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/w' } }] }],
    }),
    route('exact', {
      hostnames: ['api.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }],
    }),
  ]);
  assert.equal(winner(t, at('api.example.com', '/api/x')), 'exact#0.0');
  assert.equal(winner(t, at('api.example.com', '/w')), null);
  assert.equal(winner(t, at('api.example.com', '/')), null);
  assert.equal(winner(t, at('www.example.com', '/w')), 'wild#0.0');
  assert.equal(winner(t, at('www.example.com', '/')), null);
  assert.equal(winner(t, at('example.com', '/')), 'any#0.0');
});

test('routes sharing a hostname share a group and compete on precedence', () => {
  const t = compileRoutes([
    route('a', { hostnames: ['x.io', 'y.io'], rules: [{}] }),
    route('b', { hostnames: ['x.io'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/b' } }] }] }),
  ]);
  assert.equal(winner(t, at('x.io', '/b/1')), 'b#0.0');
  assert.equal(winner(t, at('x.io', '/c')), 'a#0.0');
  assert.equal(winner(t, at('y.io', '/b/1')), 'a#0.0');
});

test('a route listing the same host twice, or an exact and a wildcard host, is indexed once per group', () => {
  const t = compileRoutes([
    route('dup', { hostnames: ['a.io', 'a.io', '*.a.io'], rules: [{}, { matches: [{ method: 'POST' }] }] }),
  ]);
  assert.equal(t.size, 2);
  assert.equal(winner(t, at('a.io')), 'dup#0.0');
  assert.equal(winner(t, at('b.a.io')), 'dup#0.0');
  assert.equal(winner(t, req('/', { host: 'a.io', method: 'POST' })), 'dup#1.0');
});
