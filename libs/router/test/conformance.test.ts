/**
 * Request cases of the Gateway API conformance suite (kubernetes-sigs/gateway-api conformance/tests), ported as
 * data: the routes of each manifest and the backend each request must reach (null = 404). Portico has one
 * gateway without listener hostnames, so hostname cases use the listener-less variants.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/index.ts';
import { backend, req, route, rule } from './fixtures.ts';

type Case = [target: string, expected: string | null, init?: Parameters<typeof req>[1]];

function check(routes: ReturnType<typeof route>[], cases: Case[]): void {
  const t = compileRoutes(routes);
  for (const [target, expected, init] of cases) {
    assert.equal(backend(t, req(target, init)), expected, `${init?.method ?? 'GET'} ${init?.host ?? ''}${target}`);
  }
}

const pp = (value: string) => ({ type: 'PathPrefix', value });
const hv = (name: string, value: string) => ({ name, value });
const qv = (name: string, value: string) => ({ name, value });
const version = (v: string) => ({ headers: { version: v } });

test('HTTPRouteMatching', () => {
  check(
    [
      route('matching', {
        rules: [
          rule('v1', [{ path: pp('/') }, { headers: [hv('version', 'one')] }]),
          rule('v2', [{ path: pp('/v2') }, { headers: [hv('version', 'two')] }]),
        ],
      }),
    ],
    [
      ['/', 'v1'],
      ['/example', 'v1'],
      ['/', 'v1', version('one')],
      ['/v2', 'v2'],
      ['/v2/example', 'v2'],
      ['/', 'v2', version('two')],
    ],
  );
});

test('HTTPRouteMatchingAcrossRoutes', () => {
  check(
    [
      route('matching-part1', {
        hostnames: ['example.com', 'example.net'],
        rules: [rule('v1', [{ path: pp('/') }, { headers: [hv('version', 'one')] }])],
      }),
      route('matching-part2', {
        hostnames: ['example.com'],
        rules: [rule('v2', [{ path: pp('/v2') }, { headers: [hv('version', 'two')] }])],
      }),
    ],
    [
      ['/', 'v1', { host: 'example.com' }],
      ['/example', 'v1', { host: 'example.com' }],
      ['/example', 'v1', { host: 'example.net' }],
      ['/example', 'v1', { host: 'example.com', headers: { version: 'one' } }],
      ['/v2', 'v2', { host: 'example.com' }],
      ['/v2', 'v1', { host: 'example.net' }],
      ['/v2/example', 'v2', { host: 'example.com' }],
      ['/', 'v2', { host: 'example.com', headers: { version: 'two' } }],
    ],
  );
});

test('HTTPRouteHeaderMatching', () => {
  check(
    [
      route('header-matching', {
        rules: [
          rule('v1', [{ headers: [hv('version', 'one')] }]),
          rule('v2', [{ headers: [hv('version', 'two')] }]),
          rule('v1', [{ headers: [hv('version', 'two'), hv('color', 'orange')] }]),
          rule('v1', [{ headers: [hv('color', 'blue')] }, { headers: [hv('color', 'green')] }]),
          rule('v2', [{ headers: [hv('color', 'red')] }, { headers: [hv('color', 'yellow')] }]),
        ],
      }),
    ],
    [
      ['/', 'v1', { headers: { version: 'one' } }],
      ['/', 'v2', { headers: { version: 'two' } }],
      ['/', 'v1', { headers: { version: 'two', color: 'orange' } }],
      ['/', 'v2', { headers: { version: 'two', color: 'blue' } }],
      ['/', null, { headers: { color: 'orange' } }],
      ['/', null, { headers: { 'some-other-header': 'one' } }],
      ['/', 'v1', { headers: { color: 'blue' } }],
      ['/', 'v1', { headers: { color: 'green' } }],
      ['/', 'v2', { headers: { color: 'red' } }],
      ['/', 'v2', { headers: { color: 'yellow' } }],
      ['/', null, { headers: { color: 'purple' } }],
    ],
  );
});

test('HTTPRouteQueryParamMatching', () => {
  check(
    [
      route('query-param-matching', {
        rules: [
          rule('v1', [{ queryParams: [qv('animal', 'whale')] }]),
          rule('v2', [{ queryParams: [qv('animal', 'dolphin')] }]),
          rule('v3', [
            { queryParams: [qv('animal', 'dolphin'), qv('color', 'blue')] },
            { queryParams: [qv('ANIMAL', 'Whale')] },
          ]),
          rule('v1', [{ path: pp('/path1'), queryParams: [qv('animal', 'whale')] }]),
          rule('v2', [{ headers: [hv('version', 'one')], queryParams: [qv('animal', 'whale')] }]),
          rule('v3', [{ path: pp('/path2'), headers: [hv('version', 'two')], queryParams: [qv('animal', 'whale')] }]),
          rule('v1', [
            { path: pp('/path3'), queryParams: [qv('animal', 'shark')] },
            { path: pp('/path4'), headers: [hv('version', 'three')], queryParams: [qv('animal', 'kraken')] },
          ]),
          // Precedence fixtures, reconstructed from the expected answers below.
          rule('v1', [{ path: pp('/path5') }]),
          rule('v2', [{ queryParams: [qv('animal', 'hydra')] }]),
          rule('v3', [{ headers: [hv('version', 'four')] }]),
        ],
      }),
    ],
    [
      ['/?animal=whale', 'v1'],
      ['/?animal=dolphin', 'v2'],
      ['/?animal=dolphin&color=blue', 'v3'],
      ['/?ANIMAL=Whale', 'v3'],
      ['/?animal=whale&otherparam=irrelevant', 'v1'],
      ['/?animal=dolphin&color=yellow', 'v2'],
      ['/?color=blue', null],
      ['/?animal=dog', null],
      ['/?animal=whaledolphin', null],
      ['/', null],
      ['/path1?animal=whale', 'v1'],
      ['/?animal=whale', 'v2', version('one')],
      ['/path2?animal=whale', 'v3', version('two')],
      ['/path3?animal=shark', 'v1'],
      ['/path4?animal=kraken', 'v1', version('three')],
      ['/?animal=shark', null],
      ['/path4?animal=kraken', null],
      ['/path5?animal=hydra', 'v1'],
      ['/?animal=hydra', 'v3', version('four')],
    ],
  );
});

test('HTTPRouteMethodMatching', () => {
  check(
    [
      route('method-matching', {
        rules: [
          rule('v1', [{ method: 'POST' }]),
          rule('v2', [{ method: 'GET' }]),
          rule('v1', [{ path: pp('/path1'), method: 'GET' }]),
          rule('v2', [{ headers: [hv('version', 'one')], method: 'PUT' }]),
          rule('v3', [{ path: pp('/path2'), headers: [hv('version', 'two')], method: 'POST' }]),
          rule('v1', [
            { path: pp('/path3'), method: 'PATCH' },
            { path: pp('/path4'), headers: [hv('version', 'three')], method: 'DELETE' },
          ]),
          // Precedence fixtures, reconstructed from the expected answers below.
          rule('v1', [{ path: pp('/path5') }]),
          rule('v2', [{ method: 'PATCH' }]),
          rule('v3', [{ headers: [hv('version', 'four')] }]),
        ],
      }),
    ],
    [
      ['/', 'v1', { method: 'POST' }],
      ['/', 'v2', { method: 'GET' }],
      ['/', null, { method: 'HEAD' }],
      ['/path1', 'v1', { method: 'GET' }],
      ['/', 'v2', { method: 'PUT', headers: { version: 'one' } }],
      ['/path2', 'v3', { method: 'POST', headers: { version: 'two' } }],
      ['/path3', 'v1', { method: 'PATCH' }],
      ['/path4', 'v1', { method: 'DELETE', headers: { version: 'three' } }],
      ['/', null, { method: 'PUT' }],
      ['/path4', null, { method: 'DELETE' }],
      ['/path5', 'v1', { method: 'PATCH' }],
      ['/', 'v2', { method: 'PATCH', headers: { version: 'four' } }],
    ],
  );
});

test('HTTPRoutePathMatchOrder', () => {
  const exact = (value: string) => ({ path: { type: 'Exact', value } });
  check(
    [
      route('path-matching-order', {
        rules: [
          rule('v1', [exact('/match')]),
          rule('v2', [exact('/match/exact')]),
          rule('v3', [exact('/match/exact/one')]),
          rule('v3', [{ path: pp('/match/') }]),
          rule('v1', [{ path: pp('/match/prefix/') }]),
          rule('v2', [{ path: pp('/match/prefix/one') }]),
        ],
      }),
    ],
    [
      ['/match/exact/one', 'v3'],
      ['/match/exact', 'v2'],
      ['/match', 'v1'],
      ['/match/prefix/one/any', 'v2'],
      ['/match/prefix/any', 'v1'],
      ['/match/any', 'v3'],
    ],
  );
});

test('HTTPRouteHostnameIntersection (listener without hostname)', () => {
  check(
    [
      route('httproute-hostname-intersection-all', {
        hostnames: ['first.com', 'sub.first.com', 'second.com', 'sub.second.com'],
        rules: [rule('v2')],
      }),
    ],
    [
      ['/', 'v2', { host: 'first.com' }],
      ['/', 'v2', { host: 'sub.first.com' }],
      ['/', 'v2', { host: 'second.com' }],
      ['/', 'v2', { host: 'sub.second.com' }],
      ['/', null, { host: 'third.com' }],
      ['/', null, { host: 'sub.third.com' }],
    ],
  );
});

test('HTTPRouteListenerHostnameMatching (listener hostnames moved onto the routes)', () => {
  check(
    [
      route('backend-v1', { hostnames: ['bar.com'], rules: [rule('v1')] }),
      route('backend-v2', { hostnames: ['foo.bar.com'], rules: [rule('v2')] }),
      route('backend-v3', { hostnames: ['*.bar.com', '*.foo.com'], rules: [rule('v3')] }),
    ],
    [
      ['/', 'v1', { host: 'bar.com' }],
      ['/', 'v2', { host: 'foo.bar.com' }],
      ['/', 'v3', { host: 'baz.bar.com' }],
      ['/', 'v3', { host: 'boo.bar.com' }],
      ['/', 'v3', { host: 'multiple.prefixes.bar.com' }],
      ['/', 'v3', { host: 'multiple.prefixes.foo.com' }],
      ['/', null, { host: 'foo.com' }],
      ['/', null, { host: 'no.matching.host' }],
    ],
  );
});
