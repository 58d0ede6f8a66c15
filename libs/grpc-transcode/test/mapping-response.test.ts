import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { create, type DescMessage, fromJson, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { responseJson } from '../src/index.ts';
import { mappingRegistry } from './mapping-fixture.ts';

let registry: Registry;
let allTypes: DescMessage;
let listResponse: DescMessage;
before(async () => {
  registry = await mappingRegistry();
  allTypes = registry.getMessage('mapping.v1.AllTypes')!;
  listResponse = registry.getMessage('mapping.v1.ListBooksResponse')!;
});

const everyKind = {
  text: 'hi',
  i64: '-9223372036854775808',
  u64: '18446744073709551615',
  dbl: 'Infinity',
  data: 'AAEC/w==',
  color: 'GREEN',
  colors: ['RED'],
  ids: ['9007199254740993'],
  items: [{ sku: 'x', count: 1 }],
  counts: { a: 1 },
  choiceText: 'c',
  ts: '2024-05-06T07:08:09.123Z',
  dur: '-1.500s',
  mask: 'text,itemsBySku',
  st: { a: [1, 'two', null, { b: true }] },
  val: null,
  lv: [1, 'x'],
  any: { '@type': 'type.googleapis.com/mapping.v1.Item', sku: 'in-any', count: 9 },
  empty: {},
  boolW: false,
  i32W: 0,
  i64W: '-1',
  u64W: '5',
  dblW: 2.25,
  strW: '',
  bytesW: '',
} satisfies JsonValue;

function parse(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

describe('responseJson', () => {
  test('proto3 JSON of every kind: 64-bit ints as strings, enums by name, bytes base64, well-known types', () => {
    const message = fromJson(allTypes, everyKind, { registry });
    assert.deepEqual(parse(responseJson({ output: allTypes }, message, undefined, { registry })), everyKind);
  });

  test('preserveProtoFieldNames', () => {
    const message = fromJson(allTypes, { boolW: true, itemsBySku: { k: { count: 1 } } });
    assert.deepEqual(parse(responseJson({ output: allTypes }, message, undefined, { preserveProtoFieldNames: true })), {
      bool_w: true,
      items_by_sku: { k: { count: 1 } },
    });
  });

  test('emitDefaults writes implicit-presence fields at their defaults', () => {
    const json = parse(responseJson({ output: listResponse }, create(listResponse), undefined, { emitDefaults: true }));
    assert.deepEqual(json, { books: [], nextPageToken: '' });
    assert.deepEqual(parse(responseJson({ output: listResponse }, create(listResponse), undefined)), {});
  });

  test('response_body picks one field', () => {
    const message = fromJson(listResponse, { books: [{ name: 'b', isbn: '1', cover: 'RED' }], nextPageToken: 'n' });
    assert.deepEqual(parse(responseJson({ output: listResponse }, message, { responseBody: 'books' })), [
      { name: 'b', isbn: '1', cover: 'RED' },
    ]);
    assert.equal(responseJson({ output: listResponse }, message, { responseBody: 'next_page_token' }), '"n"');
    const ts = fromJson(allTypes, { ts: '2020-01-01T00:00:00Z' });
    assert.equal(responseJson({ output: allTypes }, ts, { responseBody: 'ts' }), '"2020-01-01T00:00:00Z"');
  });

  test('response_body of an unset field gives that field type default', () => {
    const empty = create(allTypes);
    assert.equal(responseJson({ output: listResponse }, create(listResponse), { responseBody: 'books' }), '[]');
    assert.equal(responseJson({ output: allTypes }, empty, { responseBody: 'i64' }), '"0"');
    assert.equal(responseJson({ output: allTypes }, empty, { responseBody: 'item' }), '{}');
    assert.equal(responseJson({ output: allTypes }, empty, { responseBody: 'ts' }), '"1970-01-01T00:00:00Z"');
  });

  test('response_body naming a missing field throws', () => {
    assert.throws(
      () => responseJson({ output: allTypes }, create(allTypes), { responseBody: 'nope' }),
      /no field "nope"/,
    );
  });
});
