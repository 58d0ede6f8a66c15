import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route } from '@portico/config';
import { type CompiledEvent, compileRoutes, RouteCompileError, routerChannels } from '../src/index.ts';
import { req, route } from './fixtures.ts';

test('size counts rules across routes; an empty table misses everything', () => {
  const t = compileRoutes([route('a', { rules: [{}, {}] }), route('b', { hostnames: ['x.io'], rules: [{}] })]);
  assert.equal(t.size, 3);
  const empty = compileRoutes([]);
  assert.equal(empty.size, 0);
  assert.equal(empty.match(req('/')), null);
});

test('the answer names the route, rule and match and is frozen; the same object comes back each time', () => {
  const r = route('a', {
    rules: [{ matches: [{ path: { type: 'Exact', value: '/x' } }, { path: { value: '/y/' } }] }],
  });
  const t = compileRoutes([r]);
  const hit = t.match(req('/y/z'));
  assert.deepEqual(hit, { route: r, ruleIndex: 0, rule: undefined, matchIndex: 1, matchedPrefix: '/y' });
  assert.ok(Object.isFrozen(hit));
  assert.equal(t.match(req('/y/z')), hit);
  assert.ok(Object.isFrozen(t));
});

test('ruleOf runs once per rule and its value comes back as `rule` with every match of that rule', () => {
  const r = route('a', {
    rules: [
      { matches: [{ path: { type: 'Exact', value: '/x' } }, { path: { value: '/y/' } }] },
      { matches: [{ path: { value: '/z' } }] },
    ],
  });
  const calls: string[] = [];
  const t = compileRoutes([r], (route, index) => {
    calls.push(`${route.metadata.name}#${index}`);
    return { compiled: index };
  });
  assert.deepEqual(calls, ['a#0', 'a#1']);
  const x = t.match(req('/x'))!;
  const y = t.match(req('/y/1'))!;
  assert.deepEqual(x.rule, { compiled: 0 });
  assert.equal(y.rule, x.rule, 'both matches of rule 0 carry the same compiled object');
  assert.deepEqual(t.match(req('/z'))!.rule, { compiled: 1 });
});

test('a regular expression that does not compile throws RouteCompileError naming the field', () => {
  // Bypasses the schema on purpose: the router must not trust that every caller validated.
  const bad = {
    apiVersion: 'portico.dev/v1',
    kind: 'Route',
    metadata: { name: 'bad' },
    spec: {
      rules: [
        { matches: [{ path: { type: 'RegularExpression', value: '/(' } }] },
        { matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '[' }] }] },
      ],
    },
  } as unknown as Route;
  assert.throws(
    () => compileRoutes([bad]),
    (err: unknown) => {
      assert.ok(err instanceof RouteCompileError);
      assert.equal(err.code, 'PORTICO_ERR_ROUTER_INVALID_ROUTE');
      assert.deepEqual(
        err.details.map((d) => d.path),
        ['Route bad spec.rules[0].matches[0].path.value', 'Route bad spec.rules[1].matches[0].headers[0].value'],
      );
      return true;
    },
  );
});

test('compiling publishes portico:router:compiled with counts and duration; a failed compile publishes nothing', () => {
  assert.equal(routerChannels.compiled.name, 'portico:router:compiled');
  const events: CompiledEvent[] = [];
  const unsubscribe = routerChannels.compiled.subscribe((event) => events.push(event));
  try {
    compileRoutes([
      route('a', { hostnames: ['a.io', '*.a.io'], rules: [{ matches: [{ method: 'GET' }, { method: 'PUT' }] }] }),
      route('b', { rules: [{}] }),
    ]);
    const badRegex = {
      apiVersion: 'portico.dev/v1',
      kind: 'Route',
      metadata: { name: 'bad' },
      spec: { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(' } }] }] },
    } as unknown as Route;
    assert.throws(() => compileRoutes([badRegex]), RouteCompileError);
  } finally {
    unsubscribe();
  }
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.deepEqual({ ...e, durationMs: 0 }, { routes: 2, rules: 2, candidates: 5, hostGroups: 3, durationMs: 0 });
  assert.ok(e.durationMs >= 0);
});

test('hostnames in config are matched lowercased', () => {
  const r = route('a', { hostnames: ['api.example.com'], rules: [{}] });
  const upper = { ...r, spec: { ...r.spec, hostnames: ['API.Example.com'] } } as Route;
  const t = compileRoutes([upper]);
  assert.equal(t.match(req('/', { host: 'api.example.com' }))?.route, upper);
});
