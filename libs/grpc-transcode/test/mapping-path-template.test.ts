import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GrpcHttpRuleError, parsePathTemplate, percentDecode, templateParams } from '../src/index.ts';

describe('parsePathTemplate', () => {
  test('literals, a bare variable and a custom verb', () => {
    assert.deepEqual(parsePathTemplate('/v1/books/{name}:publish'), {
      source: '/v1/books/{name}:publish',
      segments: [{ kind: 'literal', value: 'v1' }, { kind: 'literal', value: 'books' }, { kind: 'wildcard' }],
      variables: [{ fieldPath: 'name', start: 2, end: 3, multiSegment: false }],
      verb: 'publish',
    });
  });

  test('a variable with a multi-segment pattern and a nested field path', () => {
    const t = parsePathTemplate('/v1/{book.name=shelves/*/books/*}/x');
    assert.equal(t.segments.length, 6);
    assert.deepEqual(t.variables, [{ fieldPath: 'book.name', start: 1, end: 5, multiSegment: true }]);
  });

  test('** as the last segment, alone or in a variable, before a verb', () => {
    assert.deepEqual(parsePathTemplate('/files/**').segments.at(-1), { kind: 'deepWildcard' });
    const t = parsePathTemplate('/v1/{name=operations/**}:cancel');
    assert.deepEqual(t.variables, [{ fieldPath: 'name', start: 1, multiSegment: true }]);
    assert.equal(t.verb, 'cancel');
  });

  test('templates outside the grammar fail, naming the method and template', () => {
    const cases: Array<[string, RegExp]> = [
      ['v1/books', /starts with "\/"/],
      ['/v1/**/tail', /"\*\*" may only be the last segment/],
      ['/v1/{name', /unterminated variable/],
      ['/v1/{a={b}}', /nest/],
      ['/v1/{9x}', /not a field path/],
      ['/v1//books', /empty segment/],
      ['/v1/{name}/{name}', /bound twice/],
      ['/v1/x{name}', /whole segment/],
      ['/v1/{name}x', /whole segment/],
      ['/v1/{name=}', /empty segment|empty pattern/],
    ];
    for (const [template, reason] of cases) {
      assert.throws(
        () => parsePathTemplate(template, 'pkg.Svc.Method'),
        (error: unknown) =>
          error instanceof GrpcHttpRuleError &&
          error.message.includes('pkg.Svc.Method') &&
          error.message.includes(`"${template}"`) &&
          reason.test(error.message),
        template,
      );
    }
  });
});

describe('templateParams', () => {
  test('a single-segment variable is fully decoded', () => {
    const t = parsePathTemplate('/v1/books/{name}');
    assert.deepEqual(templateParams(t, ['v1', 'books', 'a%2Fb%20c%C3%A9']), [['name', 'a/b cé']]);
  });

  test('a multi-segment variable keeps %2F and decodes the rest', () => {
    const t = parsePathTemplate('/v1/{name=shelves/*/books/*}');
    assert.deepEqual(templateParams(t, ['v1', 'shelves', 's%2F1', 'books', 'b%201']), [
      ['name', 'shelves/s%2F1/books/b 1'],
    ]);
    const deep = parsePathTemplate('/files/{path=**}');
    assert.deepEqual(templateParams(deep, ['files', 'a', 'b%2fc', 'd']), [['path', 'a/b%2fc/d']]);
    assert.deepEqual(templateParams(deep, ['files']), [['path', '']]);
  });

  test('malformed escapes stay as they are', () => {
    assert.equal(percentDecode('100%zz%4', false), '100%zz%4');
  });
});
