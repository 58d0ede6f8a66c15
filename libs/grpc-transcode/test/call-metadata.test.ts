import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import {
  callTimeoutMs,
  GrpcCallOptionError,
  GrpcMetadataHeaderError,
  GrpcTimeoutHeaderError,
  headersFromResponseMetadata,
  headersFromTrailers,
  parseGrpcTimeout,
  requestMetadataMapper,
} from '../src/index.ts';

function entries(metadata: Metadata): Record<string, (string | string[])[]> {
  const out: Record<string, (string | string[])[]> = {};
  for (const key of Object.keys(metadata.getMap())) {
    out[key] = metadata
      .get(key)
      .map((value) => (typeof value === 'string' ? value : [Buffer.from(value).toString('hex')]));
  }
  return out;
}

describe('requestMetadataMapper', () => {
  test('forwards allow-listed headers under their name and prefixed ones with the prefix stripped', () => {
    const toMetadata = requestMetadataMapper();
    const metadata = toMetadata({
      authorization: 'Bearer t',
      traceparent: '00-abc-def-01',
      'grpc-metadata-tenant': 'acme',
      'grpc-metadata-roles': ['a', 'b'],
      'x-not-listed': 'dropped',
      accept: 'application/json',
    });
    assert.deepEqual(entries(metadata), {
      authorization: ['Bearer t'],
      traceparent: ['00-abc-def-01'],
      tenant: ['acme'],
      roles: ['a', 'b'],
    });
  });

  test('decodes -bin values from base64 (both alphabets, several comma-separated)', () => {
    const toMetadata = requestMetadataMapper({ allow: ['x-trace-bin'], prefix: 'x-meta-' });
    const metadata = toMetadata({
      'x-trace-bin': 'AAEC',
      'x-meta-blob-bin': '_-8, AQ',
    });
    assert.deepEqual(entries(metadata), { 'x-trace-bin': [['000102']], 'blob-bin': [['ffef'], ['01']] });
  });

  test('never forwards hop-by-hop, host, length, type, te, user-agent or grpc-* names', () => {
    const toMetadata = requestMetadataMapper({ allow: ['x-keep'] });
    const metadata = toMetadata({
      'x-keep': 'yes',
      'grpc-metadata-host': 'evil',
      'grpc-metadata-content-type': 'application/grpc',
      'grpc-metadata-content-length': '1',
      'grpc-metadata-te': 'trailers',
      'grpc-metadata-connection': 'close',
      'grpc-metadata-transfer-encoding': 'chunked',
      'grpc-metadata-user-agent': 'x',
      'grpc-metadata-grpc-timeout': '1S',
      'grpc-metadata-grpc-encoding': 'gzip',
      'grpc-timeout': '1S',
      'grpc-metadata-x-private': 'named by connection',
      connection: 'x-private',
    });
    assert.deepEqual(entries(metadata), { 'x-keep': ['yes'] });
  });

  test('refuses an allow-list entry that is never forwarded or not a metadata key', () => {
    assert.throws(() => requestMetadataMapper({ allow: ['host'] }), GrpcCallOptionError);
    assert.throws(() => requestMetadataMapper({ allow: ['grpc-timeout'] }), GrpcCallOptionError);
    assert.throws(() => requestMetadataMapper({ allow: ['x y'] }), GrpcCallOptionError);
    assert.throws(() => requestMetadataMapper({ prefix: 'X Meta' }), GrpcCallOptionError);
  });

  test('a chosen header gRPC cannot carry is a 400 naming it', () => {
    const toMetadata = requestMetadataMapper();
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'grpc-metadata-blob-bin': 'not base64!' }, /grpc-metadata-blob-bin.*base64/],
      [{ 'grpc-metadata-name': 'caf\u00e9' }, /grpc-metadata-name.*printable ASCII/],
      [{ 'grpc-metadata-a*b': 'x' }, /legal gRPC metadata key/],
    ];
    for (const [headers, message] of cases) {
      assert.throws(
        () => toMetadata(headers),
        (err: unknown) => err instanceof GrpcMetadataHeaderError && err.status === 400 && message.test(err.message),
      );
    }
  });
});

describe('response metadata to headers', () => {
  test('headers get grpc-metadata-, trailers grpc-trailer-, binary values base64, protocol keys dropped', () => {
    const metadata = new Metadata();
    metadata.add('x-served-by', 'a');
    metadata.add('x-served-by', 'b');
    metadata.add('token-bin', Buffer.from([1, 2, 255]));
    metadata.add('content-type', 'application/grpc');
    metadata.add('date', 'Mon, 01 Jan 2024 00:00:00 GMT');
    metadata.add('grpc-accept-encoding', 'gzip');
    assert.deepEqual(headersFromResponseMetadata(metadata), {
      'grpc-metadata-x-served-by': ['a', 'b'],
      'grpc-metadata-token-bin': ['AQL/'],
    });
    const trailers = new Metadata();
    trailers.add('x-cost', '3');
    trailers.add('grpc-status-details-bin', Buffer.from([1]));
    assert.deepEqual(headersFromTrailers(trailers), { 'grpc-trailer-x-cost': ['3'] });
  });
});

describe('parseGrpcTimeout', () => {
  test('reads every unit, rounding up to whole ms', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('10S'), 10_000);
    assert.equal(parseGrpcTimeout('100m'), 100);
    assert.equal(parseGrpcTimeout('1500u'), 2);
    assert.equal(parseGrpcTimeout('1n'), 1);
    assert.equal(parseGrpcTimeout('99999999m'), 99_999_999);
    assert.equal(parseGrpcTimeout('0m'), 0);
  });

  test('refuses anything but 1 to 8 digits and one unit', () => {
    for (const bad of ['', 'S', '10', '123456789S', '1.5S', '-1S', '10s', '10 S', ' 10S', '10SS', '1h', '0x10S']) {
      assert.throws(
        () => parseGrpcTimeout(bad),
        (err: unknown) => err instanceof GrpcTimeoutHeaderError && err.status === 400,
        JSON.stringify(bad),
      );
    }
  });
});

describe('callTimeoutMs', () => {
  test('is the smaller of the route timeout and grpc-timeout, either alone, or none', () => {
    assert.equal(callTimeoutMs(5000, '1S'), 1000);
    assert.equal(callTimeoutMs(500, '1S'), 500);
    assert.equal(callTimeoutMs(undefined, '250m'), 250);
    assert.equal(callTimeoutMs(700, undefined), 700);
    assert.equal(callTimeoutMs(undefined, undefined), undefined);
    assert.equal(callTimeoutMs(undefined, ['2S', '1S']), 2000);
    assert.throws(() => callTimeoutMs(1000, 'soon'), GrpcTimeoutHeaderError);
  });
});
