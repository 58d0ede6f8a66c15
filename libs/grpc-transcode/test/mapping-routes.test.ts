import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Registry } from '@bufbuild/protobuf';
import { type HttpMethodLookup, HttpMethodTable } from '../src/index.ts';
import { mappingRegistry, serviceOf } from './mapping-fixture.ts';

let table: HttpMethodTable;
let broken: HttpMethodTable;
before(async () => {
  const registry: Registry = await mappingRegistry();
  table = new HttpMethodTable([serviceOf(registry, 'mapping.v1.Library')]);
  broken = new HttpMethodTable([serviceOf(await mappingRegistry('mapping/broken.proto'), 'mapping.broken.Broken')]);
});

function hit(lookup: HttpMethodLookup): { method: string; template: string; params: Array<[string, string]> } {
  if (lookup.kind !== 'match') assert.fail(`expected a match, got ${JSON.stringify(lookup)}`);
  return { method: lookup.method.name, template: lookup.binding.template, params: lookup.params };
}

describe('HttpMethodTable', () => {
  test('the library protos have no invalid bindings', () => {
    assert.deepEqual(
      table.invalid.map((e) => e.message),
      [],
    );
  });

  test('multi-segment variables, nested field paths and additional bindings', () => {
    assert.deepEqual(hit(table.match('GET', '/v1/shelves/s1/books/b%2F2')), {
      method: 'GetBook',
      template: '/v1/{name=shelves/*/books/*}',
      params: [['name', 'shelves/s1/books/b%2F2']],
    });
    assert.deepEqual(hit(table.match('get', '/v1/books/b%2F2?x=1')).params, [['name', 'b/2']]);
    assert.deepEqual(hit(table.match('GET', '/v2/a/b/c')).params, [['name', 'a/b/c']]);
    assert.deepEqual(hit(table.match('PATCH', '/v1/shelves/s1/books/b1')).params, [
      ['book.name', 'shelves/s1/books/b1'],
    ]);
    assert.deepEqual(hit(table.match('GET', '/v1/authors/NL/42')).params, [
      ['author.country.code', 'NL'],
      ['author.id', '42'],
    ]);
  });

  test('literal segments beat variables, whatever the declaration order', () => {
    // GetBook's `/v1/{name=shelves/*/books/*}` also matches this path; GetFeatured has a literal in segment 3.
    assert.deepEqual(hit(table.match('GET', '/v1/shelves/featured/books/b1')), {
      method: 'GetFeatured',
      template: '/v1/shelves/featured/books/{name}',
      params: [['name', 'b1']],
    });
    // With another verb, the literal template does not apply and the variable one does.
    assert.equal(hit(table.match('DELETE', '/v1/shelves/featured/books/b1')).method, 'DeleteBook');
  });

  test('* beats **, and ** matches zero or more segments', () => {
    assert.deepEqual(hit(table.match('GET', '/files/root/a/b')), {
      method: 'GetFile',
      template: '/files/*/{name=**}',
      params: [['name', 'a/b']],
    });
    assert.deepEqual(hit(table.match('GET', '/files/root')).params, [['name', '']]);
  });

  test('a custom verb is split off the last segment', () => {
    assert.deepEqual(hit(table.match('POST', '/v1/operations/a/b:cancel')), {
      method: 'CancelOperation',
      template: '/v1/{name=operations/**}:cancel',
      params: [['name', 'operations/a/b']],
    });
    assert.equal(hit(table.match('GET', '/v1/books:search')).method, 'SearchBooks');
    // Without the verb the path is a plain segment: GetBook's `/v1/books/{name}` does not apply to `books:x`.
    assert.deepEqual(table.match('GET', '/v1/books:other'), { kind: 'notFound' });
    assert.deepEqual(hit(table.match('GET', '/v1/books/a:b')).params, [['name', 'a:b']]);
    assert.equal(hit(table.match('PUT', '/v1/shelves/s1/books:import')).method, 'CreateBook');
  });

  test('a custom pattern kind is matched as an HTTP method', () => {
    assert.equal(hit(table.match('HEAD', '/v1/ping')).method, 'Ping');
  });

  test('every method, annotated or not, has POST /<package>.<Service>/<Method>', () => {
    assert.deepEqual(hit(table.match('POST', '/mapping.v1.Library/Plain')), {
      method: 'Plain',
      template: '/mapping.v1.Library/Plain',
      params: [],
    });
    const lookup = table.match('POST', '/mapping.v1.Library/GetBook');
    assert.ok(lookup.kind === 'match' && lookup.binding.body === '*');
    assert.equal(hit(lookup).method, 'GetBook');
  });

  test('404 for an unknown path, 405 with the allowed verbs for a known one', () => {
    assert.deepEqual(table.match('GET', '/v1/nothing/here'), { kind: 'notFound' });
    assert.deepEqual(table.match('GET', '/mapping.v1.Library/Nope'), { kind: 'notFound' });
    assert.deepEqual(table.match('GET', 'relative'), { kind: 'notFound' });
    assert.deepEqual(table.match('PUT', '/v1/shelves/s1/books/b1'), {
      kind: 'methodNotAllowed',
      allowed: ['DELETE', 'GET', 'PATCH'],
    });
    assert.deepEqual(table.match('GET', '/mapping.v1.Library/Plain'), { kind: 'methodNotAllowed', allowed: ['POST'] });
  });

  test('invalid bindings are left out with an error naming method and template; the rest still work', () => {
    const reasons = broken.invalid.map((e) => e.message);
    const expectations: Array<[string, string, RegExp]> = [
      ['DeepInMiddle', '/v1/{name=**}/tail', /may only be the last segment/],
      ['UnknownField', '/v1/things/{missing}', /has no field "missing"/],
      ['RepeatedVar', '/v1/tags/{tags}', /repeated or map/],
      ['BadBody', '/v1/bad-body', /body: mapping\.broken\.Req has no field "nope"/],
      ['BadResponseBody', '/v1/bad-response', /response_body: mapping\.broken\.Req has no field "nope"/],
      ['DuplicateOther', '/v1/names/{other}', /Broken\.Duplicate already matches/],
    ];
    assert.equal(reasons.length, expectations.length, reasons.join('\n'));
    for (const [method, template, reason] of expectations) {
      assert.ok(
        reasons.some(
          (r) => r.includes(`mapping.broken.Broken.${method},`) && r.includes(`"${template}"`) && reason.test(r),
        ),
        `${method}: ${reasons.join('\n')}`,
      );
    }
    assert.equal(hit(broken.match('GET', '/v1/fine/x')).method, 'Fine');
    assert.equal(hit(broken.match('GET', '/v1/names/x')).method, 'Duplicate');
    assert.equal(hit(broken.match('POST', '/mapping.broken.Broken/BadBody')).method, 'BadBody');
  });
});
