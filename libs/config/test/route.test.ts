import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route } from '../src/index.ts';
import { errorsOf, paths, route, valid } from './helpers.ts';

test('a nested mistake is reported at its full field path', () => {
  const errors = errorsOf(
    route({
      matches: [{ path: { value: '/a' } }, { headers: [{ name: 'bad header', value: 'v' }] }],
      backendRefs: [{ name: 'echo' }, { name: 'echo2', weight: 1.5 }],
      timeouts: { request: '10 seconds' },
    }),
  );
  assert.deepEqual(paths(errors).sort(), [
    'spec.rules[0].backendRefs[1].weight',
    'spec.rules[0].matches[1].headers[0].name',
    'spec.rules[0].timeouts.request',
  ]);
  assert.match(errors.find((e) => e.path === 'spec.rules[0].timeouts.request')!.message, /Gateway API duration/);
  assert.match(errors.find((e) => e.path === 'spec.rules[0].matches[1].headers[0].name')!.message, /RFC 9110 token/);
});

test('an unknown filter type names the discriminator field', () => {
  const errors = errorsOf(route({ filters: [{ type: 'Rewrite' }] }));
  assert.equal(errors[0]?.path, 'spec.rules[0].filters[0].type');
  assert.match(errors[0]!.message, /URLRewrite/);
});

test('defaults are filled the Gateway API way', () => {
  const r = valid(
    route({
      matches: [{ path: {} }, { headers: [{ name: 'x-env', value: 'canary' }] }],
      backendRefs: [{ name: 'echo' }],
      filters: [{ type: 'CORS', cors: { allowOrigins: ['https://a.example'] } }],
      retry: {},
    }),
  ) as Route;
  const rule = r.spec.rules[0]!;
  assert.deepEqual(rule.matches?.[0]?.path, { type: 'PathPrefix', value: '/' });
  assert.equal(rule.matches?.[1]?.headers?.[0]?.type, 'Exact');
  assert.equal(rule.backendRefs?.[0]?.weight, 1);
  const cors = rule.filters?.[0];
  assert.equal(cors?.type === 'CORS' && cors.cors.maxAge, 5);
  assert.deepEqual(rule.retry, {
    attempts: 1,
    nonIdempotent: false,
    budgetPercent: 20,
    minRetryConcurrency: 3,
  });
});

test('a redirect defaults to 302', () => {
  const r = valid(route({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }] })) as Route;
  const f = r.spec.rules[0]!.filters![0]!;
  assert.equal(f.type === 'RequestRedirect' && f.requestRedirect.statusCode, 302);
});

test('unknown keys are rejected at every level', () => {
  const top = errorsOf({ ...route({}), status: {} });
  assert.equal(top[0]?.path, '');
  assert.match(top[0]!.message, /status/);
  const meta = errorsOf({ ...route({}), metadata: { name: 'x', namespace: 'default' } });
  assert.equal(meta[0]?.path, 'metadata');
  assert.match(meta[0]!.message, /namespace/);
  const deep = errorsOf(route({ backendRefs: [{ name: 'echo', wieght: 2 }] }));
  assert.equal(deep[0]?.path, 'spec.rules[0].backendRefs[0]');
  assert.match(deep[0]!.message, /wieght/);
  const inFilter = errorsOf(
    route({
      filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/', x: 1 } } }],
    }),
  );
  assert.equal(inFilter[0]?.path, 'spec.rules[0].filters[0].urlRewrite.path');
});

test('RequestRedirect and URLRewrite cannot be combined in a rule', () => {
  const errors = errorsOf(
    route({
      filters: [
        { type: 'RequestRedirect', requestRedirect: { statusCode: 301 } },
        { type: 'URLRewrite', urlRewrite: { hostname: 'b.example' } },
      ],
    }),
  );
  assert.deepEqual(paths(errors), ['spec.rules[0].filters']);
  assert.match(errors[0]!.message, /RequestRedirect and URLRewrite cannot be combined/);
});

test('a redirect rule has no backendRefs; a filter kind appears once per rule', () => {
  const redirect = errorsOf(
    route({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }], backendRefs: [{ name: 'echo' }] }),
  );
  assert.deepEqual(paths(redirect), ['spec.rules[0].backendRefs']);
  const twice = errorsOf(
    route({
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: '1' }] } },
        { type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['b'] } },
      ],
    }),
  );
  assert.match(twice[0]!.message, /RequestHeaderModifier may appear at most once/);
  // RequestMirror may repeat (Gateway API allows several mirrors).
  valid(
    route({
      filters: [
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'a' } } },
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'b' } } },
      ],
    }),
  );
});

test('ReplacePrefixMatch needs every match of the rule to be PathPrefix', () => {
  const rewrite = {
    type: 'URLRewrite',
    urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } },
  };
  const errors = errorsOf(
    route({
      matches: [{ path: { type: 'PathPrefix', value: '/ok' } }, { path: { type: 'Exact', value: '/exact' } }],
      filters: [rewrite],
    }),
  );
  assert.deepEqual(paths(errors), ['spec.rules[0].matches[1].path.type']);
  assert.match(errors[0]!.message, /ReplacePrefixMatch needs/);
  const redirect = errorsOf(
    route({
      matches: [{ path: { type: 'RegularExpression', value: '^/r' } }],
      filters: [
        {
          type: 'RequestRedirect',
          requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/x' } },
        },
      ],
    }),
  );
  assert.deepEqual(paths(redirect), ['spec.rules[0].matches[0].path.type']);
  valid(route({ matches: [{ path: { value: '/ok' } }, { method: 'GET' }], filters: [rewrite] }));
});

test('an invalid regular expression is refused where it is written', () => {
  const errors = errorsOf(
    route({
      matches: [
        { path: { type: 'RegularExpression', value: '^/(unclosed' } },
        { headers: [{ type: 'RegularExpression', name: 'x-a', value: '[z-a]' }] },
        {
          queryParams: [
            { type: 'Exact', name: 'q', value: '(' },
            { type: 'RegularExpression', name: 'r', value: '*' },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(paths(errors), [
    'spec.rules[0].matches[0].path.value',
    'spec.rules[0].matches[1].headers[0].value',
    'spec.rules[0].matches[2].queryParams[1].value',
  ]);
  for (const e of errors) assert.match(e.message, /^invalid regular expression: /);
});

test('Exact and PathPrefix values start with "/"', () => {
  const errors = errorsOf(route({ matches: [{ path: { type: 'Exact', value: 'no-slash' } }] }));
  assert.deepEqual(paths(errors), ['spec.rules[0].matches[0].path.value']);
});

test('hostnames: lowercase names with an optional leading wildcard label', () => {
  valid(route({}, { hostnames: ['api.example.com', '*.example.com'] }));
  const errors = errorsOf(route({}, { hostnames: ['ok.example', 'Upper.example', 'a.*.example'] }));
  assert.deepEqual(paths(errors), ['spec.hostnames[1]', 'spec.hostnames[2]']);
});

test('a Route needs at least one rule', () => {
  assert.deepEqual(paths(errorsOf({ ...route({}), spec: { rules: [] } })), ['spec.rules']);
});

test('a RequestHeaderModifier may not touch the fields the proxy writes itself', () => {
  const errors = errorsOf(
    route({
      filters: [
        {
          type: 'RequestHeaderModifier',
          requestHeaderModifier: {
            set: [
              { name: 'X-Fine', value: '1' },
              { name: 'Via', value: 'forged' },
            ],
            add: [{ name: 'x-forwarded-for', value: '6.6.6.6' }],
            remove: ['X-Real-IP', 'x-other', 'Transfer-Encoding'],
          },
        },
      ],
    }),
  );
  const at = 'spec.rules[0].filters[0].requestHeaderModifier';
  assert.deepEqual(paths(errors), [`${at}.set[1].name`, `${at}.add[0].name`, `${at}.remove[0]`, `${at}.remove[2]`]);
  assert.match(errors[0]!.message, /"Via" is written by the proxy itself/);
  // The response side is the backend's answer: no such rule there.
  valid(
    route({
      filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['via'] } }],
      backendRefs: [{ name: 'echo' }],
    }),
  );
});

test('backendRefs: kind Echo needs no Service and takes none of the Service fields', () => {
  const r = valid(route({ backendRefs: [{ kind: 'Echo', name: 'echo' }, { name: 'svc' }] })) as Route;
  assert.equal(r.spec.rules[0]!.backendRefs![0]!.kind, 'Echo');
  assert.equal(r.spec.rules[0]!.backendRefs![1]!.kind, undefined, 'default (Service) is not written in');
  const errors = errorsOf(route({ backendRefs: [{ kind: 'Echo', name: 'e', registry: 'zk', port: 80 }] }));
  assert.deepEqual(paths(errors), ['spec.rules[0].backendRefs[0].registry', 'spec.rules[0].backendRefs[0].port']);
  assert.deepEqual(paths(errorsOf(route({ backendRefs: [{ kind: 'Echo' }] }))), ['spec.rules[0].backendRefs[0].name']);
  assert.deepEqual(paths(errorsOf(route({ backendRefs: [{ kind: 'Lambda', name: 'x' }] }))), [
    'spec.rules[0].backendRefs[0].kind',
  ]);
  // A mirror copies to a Service only.
  const mirror = errorsOf(
    route({ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { kind: 'Echo', name: 'e' } } }] }),
  );
  assert.equal(mirror[0]?.path, 'spec.rules[0].filters[0].requestMirror.backendRef');
});

test('upgrades: protocol tokens, h2c never', () => {
  const r = valid(route({ upgrades: ['websocket', 'my-proto'] })) as Route;
  assert.deepEqual(r.spec.rules[0]!.upgrades, ['websocket', 'my-proto']);
  assert.equal((valid(route({})) as Route).spec.rules[0]!.upgrades, undefined, 'default applied by the proxy');
  valid(route({ upgrades: [] }));
  const errors = errorsOf(route({ upgrades: ['websocket', 'H2C', 'bad token'] }));
  assert.deepEqual(paths(errors), ['spec.rules[0].upgrades[1]', 'spec.rules[0].upgrades[2]']);
  assert.match(errors[0]!.message, /h2c is never tunnelled/);
});
