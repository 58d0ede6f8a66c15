import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/index.ts';
import { req, route, winner } from './fixtures.ts';

test('header names are case-insensitive in config; values are case-sensitive', () => {
  const t = compileRoutes([route('h', { rules: [{ matches: [{ headers: [{ name: 'X-Tenant', value: 'Acme' }] }] }] })]);
  assert.equal(winner(t, req('/', { headers: { 'x-tenant': 'Acme' } })), 'h#0.0');
  assert.equal(winner(t, req('/', { headers: { 'x-tenant': 'acme' } })), null);
  assert.equal(winner(t, req('/', { headers: {} })), null);
});

test('a header sent several times is joined with "," before matching', () => {
  const t = compileRoutes([
    route('exact', { hostnames: ['e.io'], rules: [{ matches: [{ headers: [{ name: 'x-v', value: 'a,b' }] }] }] }),
    route('regex', {
      hostnames: ['r.io'],
      rules: [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-v', value: '(a|b),(a|b)' }] }] }],
    }),
  ]);
  assert.equal(winner(t, req('/', { host: 'e.io', headers: { 'x-v': ['a', 'b'] } })), 'exact#0.0');
  assert.equal(winner(t, req('/', { host: 'e.io', headers: { 'x-v': 'a' } })), null);
  assert.equal(winner(t, req('/', { host: 'r.io', headers: { 'x-v': ['b', 'a'] } })), 'regex#0.0');
  assert.equal(winner(t, req('/', { host: 'r.io', headers: { 'x-v': ['b', 'a', 'a'] } })), null);
});

test('header RegularExpression is a full match', () => {
  const t = compileRoutes([
    route('h', { rules: [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-v', value: 'v[0-9]' }] }] }] }),
  ]);
  assert.equal(winner(t, req('/', { headers: { 'x-v': 'v1' } })), 'h#0.0');
  assert.equal(winner(t, req('/', { headers: { 'x-v': 'v12' } })), null);
  assert.equal(winner(t, req('/', { headers: { 'x-v': 'xv1' } })), null);
});

test('all header conditions must hold; an Exact empty value needs the header present', () => {
  const t = compileRoutes([
    route('h', {
      rules: [
        {
          matches: [
            {
              headers: [
                { name: 'x-a', value: '1' },
                { name: 'x-empty', value: '' },
              ],
            },
          ],
        },
      ],
    }),
  ]);
  assert.equal(winner(t, req('/', { headers: { 'x-a': '1', 'x-empty': '' } })), 'h#0.0');
  assert.equal(winner(t, req('/', { headers: { 'x-a': '1' } })), null);
  assert.equal(winner(t, req('/', { headers: { 'x-empty': '' } })), null);
});

test('a repeated header name in one match: only the first entry counts (Gateway API)', () => {
  const t = compileRoutes([
    route('h', {
      rules: [
        {
          matches: [
            {
              headers: [
                { name: 'x-a', value: '1' },
                { name: 'X-A', value: '2' },
              ],
            },
          ],
        },
      ],
    }),
  ]);
  assert.equal(winner(t, req('/', { headers: { 'x-a': '1' } })), 'h#0.0');
  assert.equal(winner(t, req('/', { headers: { 'x-a': '2' } })), null);
});

test('query params: names case-sensitive, the first value, percent- and plus-decoded', () => {
  const t = compileRoutes([
    route('q', { rules: [{ matches: [{ queryParams: [{ name: 'q', value: 'a b/é' }] }] }] }),
    route('r', {
      hostnames: ['r.io'],
      rules: [{ matches: [{ queryParams: [{ type: 'RegularExpression', name: 'id', value: '[0-9]+' }] }] }],
    }),
  ]);
  assert.equal(winner(t, req('/?q=a%20b%2F%C3%A9')), 'q#0.0');
  assert.equal(winner(t, req('/?q=a+b/%C3%A9')), 'q#0.0');
  assert.equal(winner(t, req('/?Q=a%20b%2F%C3%A9')), null);
  assert.equal(winner(t, req('/?q=a%20b%2F%C3%A9&q=other')), 'q#0.0');
  assert.equal(winner(t, req('/?q=other&q=a%20b%2F%C3%A9')), null);
  assert.equal(winner(t, req('/')), null);
  assert.equal(winner(t, req('/?id=42', { host: 'r.io' })), 'r#0.0');
  assert.equal(winner(t, req('/?id=42x', { host: 'r.io' })), null);
  assert.equal(winner(t, req('/?id=', { host: 'r.io' })), null);
});

test('query parsing is per request: a second lookup with another query is not fooled by the first', () => {
  const t = compileRoutes([route('q', { rules: [{ matches: [{ queryParams: [{ name: 'a', value: '1' }] }] }] })]);
  assert.equal(winner(t, req('/?a=1')), 'q#0.0');
  assert.equal(winner(t, req('/?a=2')), null);
  assert.equal(winner(t, req('/?a=1')), 'q#0.0');
});

test('method must be equal', () => {
  const t = compileRoutes([route('m', { rules: [{ matches: [{ method: 'DELETE' }] }] })]);
  assert.equal(winner(t, req('/', { method: 'DELETE' })), 'm#0.0');
  assert.equal(winner(t, req('/', { method: 'GET' })), null);
  assert.equal(winner(t, req('/', { method: 'delete' })), null);
});
