import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type JsonValue, type Message, type Registry, toJson } from '@bufbuild/protobuf';
import {
  type BadRequestDetail,
  type BuildRequestOptions,
  buildRequest,
  GrpcBadRequestError,
  HttpMethodTable,
} from '../src/index.ts';
import { mappingRegistry, serviceOf } from './mapping-fixture.ts';

let registry: Registry;
let table: HttpMethodTable;
before(async () => {
  registry = await mappingRegistry();
  table = new HttpMethodTable([serviceOf(registry, 'mapping.v1.Library')]);
});

const text = new TextEncoder();

function request(verb: string, url: string, body?: string | object, options?: BuildRequestOptions) {
  const [path = '', query = ''] = url.split('?');
  const match = table.match(verb, path);
  if (match.kind !== 'match') assert.fail(`${verb} ${url}: ${match.kind}`);
  const bytes = body === undefined ? undefined : text.encode(typeof body === 'string' ? body : JSON.stringify(body));
  const message = buildRequest(match, { query, body: bytes }, { registry, ...options });
  return { message, json: toJson(match.method.input, message, { registry }) as { [key: string]: JsonValue } };
}

function badRequest(verb: string, url: string, body?: string | object, options?: BuildRequestOptions) {
  try {
    request(verb, url, body, options);
  } catch (error) {
    assert.ok(error instanceof GrpcBadRequestError, String(error));
    assert.equal(error.code, 'PORTICO_ERR_GRPC_BAD_REQUEST');
    assert.equal(error.status, 400);
    return error.details;
  }
  return assert.fail(`${verb} ${url} was accepted`);
}

function detail(details: BadRequestDetail[], path: string): BadRequestDetail {
  const found = details.find((d) => d.path === path);
  if (!found) assert.fail(`no detail at ${path}: ${JSON.stringify(details)}`);
  return found;
}

const field = (message: Message, name: string) => (message as unknown as Record<string, unknown>)[name];

describe('buildRequest: body', () => {
  test('body "*": the whole JSON body is the message, every well-known type included', () => {
    const body = {
      text: 'hi',
      i32: -5,
      i64: '9007199254740993',
      u64: '18446744073709551615',
      s64: '-9007199254740993',
      f64: 12,
      flag: true,
      dbl: 'NaN',
      flt: 1.5,
      data: 'aGVsbG8=',
      color: 'GREEN',
      colors: ['RED', 2],
      ids: ['1', 2],
      tags: ['a', 'b'],
      items: [{ sku: 'x', count: 1 }],
      counts: { a: 1 },
      itemsBySku: { x: { sku: 'x', count: 3 } },
      item: { sku: 'y' },
      choiceNumber: 7,
      ts: '2024-05-06T07:08:09.123Z',
      dur: '1.500s',
      mask: 'text,item.sku',
      st: { a: [1, 'two', null, { b: true }] },
      val: 'just a string',
      lv: [1, 'x'],
      any: { '@type': 'type.googleapis.com/mapping.v1.Item', sku: 'in-any', count: 9 },
      empty: {},
      boolW: false,
      i32W: 0,
      i64W: '-1',
      u32W: 4,
      u64W: '5',
      fltW: 0.5,
      dblW: 2.25,
      strW: '',
      bytesW: '',
    };
    const { message, json } = request('POST', '/v1/echo', body);
    assert.equal(field(message, 'i64'), 9007199254740993n);
    assert.equal(field(message, 'u64'), 18446744073709551615n);
    assert.deepEqual(field(message, 'data'), text.encode('hello'));
    assert.deepEqual(field(message, 'colors'), [1, 2]);
    assert.deepEqual(json, {
      ...body,
      f64: '12',
      ids: ['1', '2'],
      colors: ['RED', 'GREEN'],
      mask: 'text,item.sku',
      dur: '1.500s',
      items: [{ sku: 'x', count: 1 }],
    });
  });

  test('body "*" also takes proto field names', () => {
    const { json } = request('POST', '/v1/echo', { bool_w: true, items_by_sku: {}, choice_text: 'c' });
    assert.deepEqual(json, { boolW: true, choiceText: 'c' });
  });

  test('body "<field>": the JSON is that field, other fields come from the path and query', () => {
    const { json } = request('POST', '/v1/shelves/s1/books?requestId=r-1', { title: 'T', isbn: '42', cover: 1 });
    assert.deepEqual(json, { parent: 'shelves/s1', book: { title: 'T', isbn: '42', cover: 'RED' }, requestId: 'r-1' });
    const items = request('POST', '/v1/echo/t/items', [{ sku: 'a' }, { count: 2 }]).json;
    assert.deepEqual(items, { text: 't', items: [{ sku: 'a' }, { count: 2 }] });
  });

  test('a body field that is a well-known type', () => {
    const { json } = request('POST', '/v1/echo/t/ts', '"2020-01-01T00:00:00Z"');
    assert.deepEqual(json, { text: 't', ts: '2020-01-01T00:00:00Z' });
  });

  test('a path variable into a nested field is set beside the body', () => {
    const { json } = request('PATCH', '/v1/shelves/s1/books/b1', { title: 'New' });
    assert.deepEqual(json, { book: { name: 'shelves/s1/books/b1', title: 'New' } });
  });

  test('an empty body on a body binding is an empty message', () => {
    assert.deepEqual(request('POST', '/v1/echo', '').json, {});
  });

  test('the plain mapping takes the whole message as the body', () => {
    assert.deepEqual(request('POST', '/mapping.v1.Library/Plain', { i64: 1 }).json, { i64: '1' });
  });
});

describe('buildRequest: path and query', () => {
  test('path variables and query parameters into nested, repeated and typed fields', () => {
    const query = [
      'pageSize=10',
      'page_token=abc',
      'filter.author=Ann%20Lee',
      'filter.min_isbn=9007199254740993',
      'filter.since=2024-01-01T00:00:00Z',
      'tags=a',
      'tags=b',
      'colors=RED',
      'colors=2',
      'include_drafts=true',
    ].join('&');
    const { message, json } = request('GET', `/v1/shelves/s%201/books?${query}`);
    assert.deepEqual(json, {
      parent: 'shelves/s 1',
      pageSize: 10,
      pageToken: 'abc',
      filter: { author: 'Ann Lee', minIsbn: '9007199254740993', since: '2024-01-01T00:00:00Z' },
      tags: ['a', 'b'],
      colors: ['RED', 'GREEN'],
      includeDrafts: true,
    });
    assert.equal((field(message, 'filter') as Record<string, unknown>).minIsbn, 9007199254740993n);
  });

  test('a path variable into an int64 field of a nested message', () => {
    const { json } = request('GET', '/v1/authors/NL/9223372036854775807');
    assert.deepEqual(json, { author: { id: '9223372036854775807', country: { code: 'NL' } } });
  });

  test('every well-known type from a query parameter, in its JSON string form', () => {
    const params = new URLSearchParams({
      ts: '2024-05-06T07:08:09Z',
      dur: '3s',
      mask: 'text,item.sku',
      st: '{"a":1}',
      val: 'plain text',
      lv: '[1,"x"]',
      any: '{"@type":"type.googleapis.com/mapping.v1.Item","sku":"q"}',
      empty: '{}',
      bool_w: 'true',
      i32_w: '-3',
      i64_w: '-9007199254740993',
      u32_w: '3',
      u64_w: '18446744073709551615',
      flt_w: '0.25',
      dbl_w: 'Infinity',
      str_w: 'wrapped',
      bytes_w: 'aGk=',
      data: 'aGk_',
      flag: 'false',
      color: '1',
      'item.count': '4',
    });
    const { json } = request('GET', `/v1/echo/12?${params}`);
    assert.deepEqual(json, {
      i64: '12',
      ts: '2024-05-06T07:08:09Z',
      dur: '3s',
      mask: 'text,item.sku',
      st: { a: 1 },
      val: 'plain text',
      lv: [1, 'x'],
      any: { '@type': 'type.googleapis.com/mapping.v1.Item', sku: 'q' },
      empty: {},
      boolW: true,
      i32W: -3,
      i64W: '-9007199254740993',
      u32W: 3,
      u64W: '18446744073709551615',
      fltW: 0.25,
      dblW: 'Infinity',
      strW: 'wrapped',
      bytesW: 'aGk=',
      data: 'aGk/',
      color: 'RED',
      item: { count: 4 },
    });
  });

  test('query parameters never set fields bound by the path or the body', () => {
    const fromPath = request('GET', '/v1/shelves/s1/books?parent=other&pageSize=2').json;
    assert.deepEqual(fromPath, { parent: 'shelves/s1', pageSize: 2 });
    const fromBody = request('POST', '/v1/shelves/s1/books?book.title=Q&parent=x', { title: 'T' }).json;
    assert.deepEqual(fromBody, { parent: 'shelves/s1', book: { title: 'T' } });
    // body "*": the query is not read at all.
    assert.deepEqual(request('POST', '/v1/echo?text=q&nope=1', { text: 'b' }).json, { text: 'b' });
  });

  test('unknown query parameters are skipped with ignoreUnknownFields', () => {
    const { json } = request('GET', '/v1/shelves/s1/books?nope=1&filter.nope=2&pageSize=1', undefined, {
      ignoreUnknownFields: true,
    });
    assert.deepEqual(json, { parent: 'shelves/s1', pageSize: 1 });
  });
});

describe('buildRequest: 400s name the field path and the expected type', () => {
  test('invalid JSON', () => {
    const [problem] = badRequest('POST', '/v1/echo', '{"text": ');
    assert.equal(problem?.path, 'body');
    assert.match(problem?.message ?? '', /invalid JSON/);
    assert.equal(problem?.expected, 'object (mapping.v1.AllTypes)');
  });

  test('a body that is not UTF-8', () => {
    const match = table.match('POST', '/v1/echo');
    if (match.kind !== 'match') assert.fail(match.kind);
    assert.throws(
      () => buildRequest(match, { query: '', body: new Uint8Array([0x7b, 0xff, 0x7d]) }),
      (error: unknown) => error instanceof GrpcBadRequestError && error.details[0]?.path === 'body',
    );
  });

  test('a type mismatch deep in a repeated message', () => {
    const details = badRequest('POST', '/v1/echo', { items: [{}, { sku: 'a' }, { count: 'many' }] });
    assert.deepEqual(detail(details, 'body.items[2].count').expected, 'int32');
  });

  test('an unknown field, with the fields that exist', () => {
    const problem = detail(badRequest('POST', '/v1/echo', { item: { sku: 'a', colour: 1 } }), 'body.item.colour');
    assert.match(problem.message, /unknown field of mapping\.v1\.Item/);
    assert.equal(problem.expected, 'one of sku, count');
    assert.deepEqual(request('POST', '/v1/echo', { item: { colour: 1 } }, { ignoreUnknownFields: true }).json, {
      item: {},
    });
  });

  test('a bad enum name, by name and by a non-integer', () => {
    const problem = detail(badRequest('POST', '/v1/echo', { color: 'PURPLE' }), 'body.color');
    assert.equal(problem.expected, 'enum mapping.v1.Color (name or number)');
    detail(badRequest('POST', '/v1/echo', { colors: ['RED', 1.5] }), 'body.colors[1]');
    detail(badRequest('GET', '/v1/shelves/s1/books?colors=RED&colors=PURPLE'), 'query.colors');
  });

  test('64-bit, bytes, well-known types and map values out of shape', () => {
    assert.equal(
      detail(badRequest('POST', '/v1/echo', { i64: '1.5' }), 'body.i64').expected,
      'int64 (decimal string or number)',
    );
    assert.equal(detail(badRequest('POST', '/v1/echo', { data: '%%%' }), 'body.data').expected, 'bytes (base64)');
    assert.equal(
      detail(badRequest('POST', '/v1/echo', { ts: 'yesterday' }), 'body.ts').expected,
      'google.protobuf.Timestamp (RFC 3339 string)',
    );
    assert.equal(
      detail(badRequest('POST', '/v1/echo', { counts: { a: 'x' } }), 'body.counts["a"]').expected,
      'object of string keys to int32',
    );
    detail(badRequest('POST', '/v1/echo', { itemsBySku: { k: { count: true } } }), 'body.itemsBySku["k"].count');
    detail(badRequest('POST', '/v1/echo', { any: { '@type': 'type.googleapis.com/nope.Nope' } }), 'body.any');
  });

  test('shape errors: an object where an array goes, a scalar where a message goes, two oneof members', () => {
    assert.equal(detail(badRequest('POST', '/v1/echo', { tags: 'a' }), 'body.tags').expected, 'array of string');
    assert.equal(detail(badRequest('POST', '/v1/echo', { item: 3 }), 'body.item').expected, 'object (mapping.v1.Item)');
    assert.equal(detail(badRequest('POST', '/v1/echo', [1]), 'body').expected, 'object (mapping.v1.AllTypes)');
    detail(badRequest('POST', '/v1/echo', { choiceText: 'a', choiceNumber: 1 }), 'body.choiceNumber');
  });

  test('a body field binding reports paths under body', () => {
    const details = badRequest('POST', '/v1/shelves/s1/books', { isbn: 'x' });
    assert.equal(detail(details, 'body.isbn').expected, 'int64 (decimal string or number)');
    const array = badRequest('POST', '/v1/echo/t/items', [{ sku: 1 }]);
    assert.equal(detail(array, 'body[0].sku').expected, 'string');
    assert.equal(
      detail(badRequest('POST', '/v1/echo/t/items', { sku: 'a' }), 'body').expected,
      'array of object (mapping.v1.Item)',
    );
  });

  test('query parameters: type mismatch, unknown, too many values, message fields', () => {
    const details = badRequest('GET', '/v1/shelves/s1/books?page_size=ten&include_drafts=yes&nope=1');
    assert.equal(detail(details, 'query.page_size').expected, 'int32');
    assert.equal(detail(details, 'query.include_drafts').expected, 'bool');
    assert.match(detail(details, 'query.nope').message, /no field "nope"/);
    assert.equal(details.length, 3);
    assert.match(
      detail(badRequest('GET', '/v1/shelves/s1/books?pageSize=1&pageSize=2'), 'query.pageSize').message,
      /2 values/,
    );
    assert.match(detail(badRequest('GET', '/v1/shelves/s1/books?filter=x'), 'query.filter').message, /message field/);
    assert.equal(
      detail(badRequest('GET', '/v1/echo/1?ts=noon'), 'query.ts').expected,
      'google.protobuf.Timestamp (RFC 3339 string)',
    );
  });

  test('a path variable that does not fit its field', () => {
    const problem = detail(badRequest('GET', '/v1/authors/NL/forty-two'), 'path.author.id');
    assert.equal(problem.expected, 'int64 (decimal string or number)');
  });

  test('a body on a binding without body', () => {
    const problem = detail(badRequest('GET', '/v1/shelves/s1/books', { pageSize: 1 }), 'body');
    assert.match(problem.message, /takes no request body/);
  });

  test('the error body names code, path and expected type', () => {
    try {
      request('POST', '/v1/echo', { i32: 'x' });
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof GrpcBadRequestError);
      const body = JSON.parse(JSON.stringify(error));
      assert.equal(body.error.code, 'PORTICO_ERR_GRPC_BAD_REQUEST');
      assert.match(body.error.message, /mapping\.v1\.Library\.Echo: body\.i32/);
      assert.equal(body.error.details[0].path, 'body.i32');
      assert.equal(body.error.details[0].expected, 'int32');
    }
  });
});
