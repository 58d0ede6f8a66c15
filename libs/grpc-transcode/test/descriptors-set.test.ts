/**
 * registryFromDescriptorSet over sets compiled by buf from the test kit's protos, broken sets, garbage bytes;
 * ServiceCatalog over the registries it gives.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { create, createFileRegistry, fromBinary, getExtension, toBinary } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { protoDescriptorSet, TESTKIT_PROTOS_DIR } from '@portico/testkit';
import { ServiceCatalog } from '../src/descriptors/catalog.ts';
import { registryFromDescriptorSet } from '../src/descriptors/descriptor-set.ts';
import { GrpcDescriptorSetError } from '../src/descriptors/errors.ts';

const HTTP_RULE_FIELD = 72295728;
let compiled: Uint8Array;
before(async () => {
  compiled = await protoDescriptorSet(TESTKIT_PROTOS_DIR, ['portico/test/echo.proto', 'portico/test/greeter.proto']);
});

describe('registryFromDescriptorSet', () => {
  test('a buf-compiled set: every file, service and import', () => {
    const registry = registryFromDescriptorSet(compiled);
    const names = [...registry.files].map((f) => f.proto.name);
    for (const name of [
      'portico/test/echo.proto',
      'portico/test/greeter.proto',
      'google/api/annotations.proto',
      'google/api/http.proto',
      'google/protobuf/timestamp.proto',
      'google/protobuf/descriptor.proto',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
    assert.equal(registry.getMessage('portico.test.WellKnown')?.field.any.message?.typeName, 'google.protobuf.Any');
    assert.ok(registry.getService('portico.test.Echo'));
  });

  test('method options are kept: SayHello carries its google.api.http rule', () => {
    const registry = registryFromDescriptorSet(compiled);
    const sayHello = new ServiceCatalog(registry).method('/portico.test.v1.Greeter/SayHello');
    const options = sayHello?.proto.options;
    assert.ok(options);
    const unknown = options.$unknown?.find((field) => field.no === HTTP_RULE_FIELD);
    assert.ok(unknown, 'the option is an unknown field of MethodOptions, field 72295728');
    // The unknown field's data is the length-prefixed HttpRule.
    const rule = new TextDecoder().decode(new BinaryReader(unknown.data).bytes());
    assert.match(rule, /\/v1\/greet\/\{name\}/);
    assert.match(rule, /\/v1\/greet/);
    const http = registry.getExtension('google.api.http');
    assert.ok(http);
    const decoded = getExtension(options, http) as unknown as {
      pattern: { case: string; value: string };
      additionalBindings: { pattern: { case: string; value: string }; body: string }[];
    };
    assert.deepEqual(decoded.pattern, { case: 'get', value: '/v1/greet/{name}' });
    assert.deepEqual(decoded.additionalBindings[0]?.pattern, { case: 'post', value: '/v1/greet' });
    assert.equal(decoded.additionalBindings[0]?.body, '*');
  });

  test('a set without one of its imports: an error naming the import and the importer', () => {
    const set = fromBinary(FileDescriptorSetSchema, compiled);
    set.file = set.file.filter((file) => file.name !== 'google/protobuf/timestamp.proto');
    assert.throws(
      () => registryFromDescriptorSet(toBinary(FileDescriptorSetSchema, set)),
      (error: unknown) => {
        assert.ok(error instanceof GrpcDescriptorSetError);
        assert.equal(error.code, 'PORTICO_ERR_GRPC_DESCRIPTOR_SET');
        assert.match(
          error.message,
          /portico\/test\/echo\.proto imports google\/protobuf\/timestamp\.proto, which is missing/,
        );
        assert.match(error.message, /--include_imports/);
        return true;
      },
    );
  });

  test('the files may come in any order', () => {
    const set = fromBinary(FileDescriptorSetSchema, compiled);
    set.file.reverse();
    assert.equal(set.file[0]?.name, 'portico/test/greeter.proto');
    const registry = registryFromDescriptorSet(toBinary(FileDescriptorSetSchema, set));
    assert.ok(registry.getService('portico.test.v1.Greeter'));
  });

  test('garbage bytes, text, an empty set and a set of nameless files are rejected', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', Uint8Array.of(0x0a, 0xff, 0xff, 0x03, 0x01), /do not decode as one/],
      ['invalid wire type', Uint8Array.of(0x0f, 0x01, 0x02), /do not decode as one/],
      ['text', new TextEncoder().encode('syntax = "proto3";\nmessage A {}\n'), /invalid FileDescriptorSet/],
      ['empty', new Uint8Array(), /holds no files/],
      ['nameless', Uint8Array.of(0x0a, 0x02, 0x12, 0x00), /file 0 has no name/],
    ];
    for (const [what, bytes, message] of cases) {
      assert.throws(
        () => registryFromDescriptorSet(bytes),
        (error: unknown) => {
          assert.ok(error instanceof GrpcDescriptorSetError, what);
          assert.match(error.message, message, what);
          return true;
        },
      );
    }
  });
});

describe('ServiceCatalog', () => {
  test('services without reflection and health; methods by either path form', () => {
    const base = registryFromDescriptorSet(compiled);
    const infra = ['grpc.reflection.v1', 'grpc.reflection.v1alpha', 'grpc.health.v1'].map((pkg) =>
      create(FileDescriptorProtoSchema, {
        name: `${pkg.replaceAll('.', '/')}/x.proto`,
        package: pkg,
        syntax: 'proto3',
        messageType: [{ name: 'M' }],
        service: [{ name: 'S', method: [{ name: 'Call', inputType: `.${pkg}.M`, outputType: `.${pkg}.M` }] }],
      }),
    );
    const registry = createFileRegistry(
      create(FileDescriptorSetSchema, { file: [...[...base.files].map((f) => f.proto), ...infra] }),
    );
    assert.ok(registry.getService('grpc.health.v1.S'), 'the health service is in the registry');
    const catalog = new ServiceCatalog(registry);
    assert.equal(catalog.registry, registry);
    assert.deepEqual(
      catalog
        .services()
        .map((s) => s.typeName)
        .sort(),
      ['portico.test.Echo', 'portico.test.v1.Greeter'],
    );
    assert.equal(catalog.method('/portico.test.Echo/Count')?.methodKind, 'server_streaming');
    assert.equal(catalog.method('portico.test.Echo/Count')?.name, 'Count');
    assert.equal(catalog.method('/grpc.health.v1.S/Call'), undefined);
    assert.equal(catalog.method('/portico.test.Echo/Nope'), undefined);
    assert.equal(catalog.method('portico.test.Echo.Count'), undefined);
    assert.equal(catalog.method(''), undefined);
  });
});
