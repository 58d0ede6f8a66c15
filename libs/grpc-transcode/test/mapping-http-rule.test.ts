import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { create, type Registry } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { MethodOptionsSchema } from '@bufbuild/protobuf/wkt';
import { GrpcHttpRuleError, HTTP_RULE_EXTENSION, httpBindingsOf } from '../src/index.ts';
import { mappingRegistry, serviceOf } from './mapping-fixture.ts';

let registry: Registry;
before(async () => {
  registry = await mappingRegistry();
});

function method(name: string) {
  const found = serviceOf(registry, 'mapping.v1.Library').methods.find((m) => m.name === name);
  assert.ok(found, name);
  return found;
}

describe('httpBindingsOf', () => {
  test('reads the rule and flattens additional_bindings', () => {
    assert.deepEqual(httpBindingsOf(method('GetBook')), [
      { verb: 'GET', template: '/v1/{name=shelves/*/books/*}' },
      { verb: 'GET', template: '/v1/books/{name}' },
      { verb: 'GET', template: '/v2/{name=**}' },
    ]);
  });

  test('every verb, body forms and response_body', () => {
    assert.deepEqual(httpBindingsOf(method('CreateBook')), [
      { verb: 'POST', template: '/v1/{parent=shelves/*}/books', body: 'book' },
      { verb: 'PUT', template: '/v1/{parent=shelves/*}/books:import', body: '*' },
    ]);
    assert.deepEqual(httpBindingsOf(method('UpdateBook')), [
      { verb: 'PATCH', template: '/v1/{book.name=shelves/*/books/*}', body: 'book' },
    ]);
    assert.deepEqual(httpBindingsOf(method('DeleteBook')), [
      { verb: 'DELETE', template: '/v1/{name=shelves/*/books/*}' },
    ]);
    assert.deepEqual(httpBindingsOf(method('SearchBooks')), [
      { verb: 'GET', template: '/v1/books:search', responseBody: 'books' },
    ]);
  });

  test('a custom pattern gives its kind as the verb', () => {
    assert.deepEqual(httpBindingsOf(method('Ping')), [{ verb: 'HEAD', template: '/v1/ping' }]);
  });

  test('a method without the option has no bindings', () => {
    assert.deepEqual(httpBindingsOf(method('Plain')), []);
  });

  test('bindings nested inside an additional binding are ignored', () => {
    const inner = new BinaryWriter()
      .uint32((2 << 3) | 2)
      .string('/inner')
      .finish();
    const additional = new BinaryWriter()
      .uint32((2 << 3) | 2)
      .string('/extra')
      .uint32((11 << 3) | 2)
      .bytes(inner)
      .finish();
    const rule = new BinaryWriter()
      .uint32((4 << 3) | 2)
      .string('/main')
      .uint32((7 << 3) | 2)
      .string('*')
      .uint32((11 << 3) | 2)
      .bytes(additional)
      .finish();
    assert.deepEqual(httpBindingsOf(withOption(rule)), [
      { verb: 'POST', template: '/main', body: '*' },
      { verb: 'GET', template: '/extra' },
    ]);
  });

  test('a malformed option and a rule without a pattern are errors naming the method', () => {
    const badWireType = new BinaryWriter()
      .uint32((2 << 3) | 0)
      .uint32(5)
      .finish();
    assert.throws(
      () => httpBindingsOf(withOption(badWireType)),
      (error: unknown) =>
        error instanceof GrpcHttpRuleError &&
        error.code === 'PORTICO_ERR_GRPC_HTTP_RULE_INVALID' &&
        /mapping\.v1\.Library\.Plain/.test(error.message) &&
        /malformed/.test(error.message),
    );
    const bodyOnly = new BinaryWriter()
      .uint32((7 << 3) | 2)
      .string('*')
      .finish();
    assert.throws(() => httpBindingsOf(withOption(bodyOnly)), /Library\.Plain.*no pattern/);
  });
});

/** The Plain method with a hand-encoded HttpRule as its option. */
function withOption(rule: Uint8Array) {
  const plain = method('Plain');
  const data = new BinaryWriter().bytes(rule).finish();
  const options = create(MethodOptionsSchema);
  options.$unknown = [{ no: HTTP_RULE_EXTENSION, wireType: 2, data }];
  return { ...plain, proto: { ...plain.proto, options } } as typeof plain;
}
