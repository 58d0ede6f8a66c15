/**
 * Gateway API HTTPRouteRule precedence, one criterion at a time: two routes that both match a request, the
 * winner listed last in the input so that input order cannot explain the result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/index.ts';
import { req, route, winner } from './fixtures.ts';

const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });

test('1. Exact path beats RegularExpression and a longer PathPrefix', () => {
  const t = compileRoutes([
    route('p', { rules: [{ matches: [prefix('/api/v1/users')] }] }),
    route('r', { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/api/.*' } }] }] }),
    route('e', { rules: [{ matches: [{ path: { type: 'Exact', value: '/api/v1/users' } }] }] }),
  ]);
  assert.equal(winner(t, req('/api/v1/users')), 'e#0.0');
  assert.equal(winner(t, req('/api/v1/users/7')), 'r#0.0');
});

test('2. RegularExpression ranks after Exact and before PathPrefix; the longer pattern first', () => {
  const t = compileRoutes([
    route('p', { rules: [{ matches: [prefix('/api/v1')] }] }),
    route('short', { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/api/.*' } }] }] }),
    route('long', { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' } }] }] }),
  ]);
  assert.equal(winner(t, req('/api/v1/x')), 'long#0.0');
  assert.equal(winner(t, req('/api/beta/x')), 'short#0.0');
  assert.equal(winner(t, req('/other')), null);
});

test('3. PathPrefix with the most characters wins', () => {
  const t = compileRoutes([
    route('long', { rules: [{ matches: [prefix('/api/v1')] }] }),
    route('short', { rules: [{ matches: [prefix('/api')] }] }),
  ]);
  assert.equal(winner(t, req('/api/v1/x')), 'long#0.0');
  assert.equal(winner(t, req('/api/v2/x')), 'short#0.0');
  // Reversed input order, same answer.
  const r = compileRoutes([
    route('short', { rules: [{ matches: [prefix('/api')] }] }),
    route('long', { rules: [{ matches: [prefix('/api/v1')] }] }),
  ]);
  assert.equal(winner(r, req('/api/v1/x')), 'long#0.0');
});

test('4. with equal paths, a method match beats more header matches', () => {
  const t = compileRoutes([
    route('a-headers', {
      rules: [
        {
          matches: [
            {
              headers: [
                { name: 'x-a', value: '1' },
                { name: 'x-b', value: '2' },
              ],
            },
          ],
        },
      ],
    }),
    route('b-method', { rules: [{ matches: [{ method: 'POST' }] }] }),
  ]);
  const headers = { 'x-a': '1', 'x-b': '2' };
  assert.equal(winner(t, req('/', { method: 'POST', headers })), 'b-method#0.0');
  assert.equal(winner(t, req('/', { method: 'GET', headers })), 'a-headers#0.0');
});

test('5. more header matches win', () => {
  const t = compileRoutes([
    route('a-one', { rules: [{ matches: [{ headers: [{ name: 'x-a', value: '1' }] }] }] }),
    route('b-two', {
      rules: [
        {
          matches: [
            {
              headers: [
                { name: 'x-a', value: '1' },
                { name: 'x-b', value: '2' },
              ],
            },
          ],
        },
      ],
    }),
  ]);
  assert.equal(winner(t, req('/', { headers: { 'x-a': '1', 'x-b': '2' } })), 'b-two#0.0');
  assert.equal(winner(t, req('/', { headers: { 'x-a': '1' } })), 'a-one#0.0');
});

test('6. more query param matches win; header matches outrank query param matches', () => {
  const t = compileRoutes([
    route('a-one', { rules: [{ matches: [{ queryParams: [{ name: 'a', value: '1' }] }] }] }),
    route('b-two', {
      rules: [
        {
          matches: [
            {
              queryParams: [
                { name: 'a', value: '1' },
                { name: 'b', value: '2' },
              ],
            },
          ],
        },
      ],
    }),
  ]);
  assert.equal(winner(t, req('/?a=1&b=2')), 'b-two#0.0');
  assert.equal(winner(t, req('/?a=1')), 'a-one#0.0');

  const h = compileRoutes([
    route('a-queries', {
      rules: [
        {
          matches: [
            {
              queryParams: [
                { name: 'a', value: '1' },
                { name: 'b', value: '2' },
              ],
            },
          ],
        },
      ],
    }),
    route('b-header', { rules: [{ matches: [{ headers: [{ name: 'x-a', value: '1' }] }] }] }),
  ]);
  assert.equal(winner(h, req('/?a=1&b=2', { headers: { 'x-a': '1' } })), 'b-header#0.0');
});

test('7. the oldest route by creationTimestamp wins; no timestamp counts as newest', () => {
  const t = compileRoutes([
    route('a-newer', { rules: [{}] }, '2025-02-01T00:00:00Z'),
    route('b-older', { rules: [{}] }, '2025-01-01T00:00:00Z'),
  ]);
  assert.equal(winner(t, req('/x')), 'b-older#0.0');

  const u = compileRoutes([
    route('a-untimed', { rules: [{}] }),
    route('z-timed', { rules: [{}] }, '2030-01-01T00:00:00Z'),
  ]);
  assert.equal(winner(u, req('/x')), 'z-timed#0.0');
});

test('8. equal timestamps: route name in alphabetical order', () => {
  const ts = '2025-01-01T00:00:00Z';
  const t = compileRoutes([route('beta', { rules: [{}] }, ts), route('alpha', { rules: [{}] }, ts)]);
  assert.equal(winner(t, req('/x')), 'alpha#0.0');
  const u = compileRoutes([route('beta', { rules: [{}] }), route('alpha', { rules: [{}] })]);
  assert.equal(winner(u, req('/x')), 'alpha#0.0');
});

test('9-10. within a route: rule order, then match order within the rule', () => {
  const t = compileRoutes([
    route('r', {
      rules: [
        {
          matches: [prefix('/a'), { headers: [{ name: 'x', value: '1' }], path: { type: 'PathPrefix', value: '/b' } }],
        },
        { matches: [prefix('/a'), prefix('/b')] },
      ],
    }),
  ]);
  assert.equal(winner(t, req('/a/1')), 'r#0.0');
  assert.equal(winner(t, req('/b/1')), 'r#1.1');
  assert.equal(winner(t, req('/b/1', { headers: { x: '1' } })), 'r#0.1');

  const m = compileRoutes([route('m', { rules: [{ matches: [prefix('/a'), prefix('/a/')] }] })]);
  assert.equal(winner(m, req('/a/b')), 'm#0.0');
});

test('precedence spans all rules of all routes of the host group, whatever the input order', () => {
  const routes = [
    route('one', { rules: [{ matches: [prefix('/')] }, { matches: [prefix('/shop/cart')] }] }),
    route('two', {
      rules: [{ matches: [prefix('/shop')] }, { matches: [{ path: { type: 'Exact', value: '/shop' } }] }],
    }),
    route('three', { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/shop/[a-z]+' } }] }] }),
  ];
  const expected: [string, string][] = [
    ['/shop', 'two#1.0'],
    ['/shop/', 'two#0.0'],
    ['/shop/cart', 'three#0.0'],
    ['/shop/cart/1', 'one#1.0'],
    ['/shop/1', 'two#0.0'],
    ['/', 'one#0.0'],
  ];
  for (const order of [routes, [...routes].reverse(), [routes[1]!, routes[2]!, routes[0]!]]) {
    const t = compileRoutes(order);
    for (const [path, who] of expected) assert.equal(winner(t, req(path)), who, path);
  }
});
