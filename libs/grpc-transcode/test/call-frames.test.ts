import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  GrpcCallOptionError,
  NDJSON_FRAMING,
  NdjsonLineError,
  NdjsonLineTooLongError,
  NdjsonSplitter,
  SSE_FRAMING,
  streamFramingFor,
} from '../src/index.ts';

async function split(chunks: (string | Buffer)[], maxLineBytes?: number): Promise<unknown[]> {
  const values: unknown[] = [];
  const splitter = Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new NdjsonSplitter({ maxLineBytes }));
  for await (const value of splitter) values.push(value);
  return values;
}

async function splitError(chunks: (string | Buffer)[], maxLineBytes?: number): Promise<unknown> {
  try {
    await split(chunks, maxLineBytes);
  } catch (err) {
    return err;
  }
  assert.fail('expected the splitter to fail');
}

describe('streamFramingFor', () => {
  test('NDJSON by default and for JSON or anything', () => {
    for (const accept of [undefined, '', '*/*', 'application/json', 'application/x-ndjson', 'text/html']) {
      assert.equal(streamFramingFor(accept).kind, 'ndjson', String(accept));
    }
  });

  test('SSE when text/event-stream is preferred', () => {
    assert.equal(streamFramingFor('text/event-stream').kind, 'sse');
    assert.equal(streamFramingFor(['text/html', 'Text/Event-Stream']).kind, 'sse');
    assert.equal(streamFramingFor('application/x-ndjson;q=0.5, text/event-stream').kind, 'sse');
    assert.equal(streamFramingFor('text/event-stream, application/x-ndjson').kind, 'sse');
    assert.equal(streamFramingFor('application/x-ndjson, text/event-stream').kind, 'ndjson');
    assert.equal(streamFramingFor('text/event-stream;q=0.2, application/x-ndjson;q=0.9').kind, 'ndjson');
    assert.equal(streamFramingFor('text/event-stream;q=0').kind, 'ndjson');
  });

  test('frames messages and a late error in each format', () => {
    const status = { code: 13, message: 'boom\nline', details: [] };
    assert.equal(NDJSON_FRAMING.contentType, 'application/x-ndjson');
    assert.equal(NDJSON_FRAMING.message({ a: 'x\ny' }).toString(), '{"a":"x\\ny"}\n');
    assert.equal(
      NDJSON_FRAMING.error(status).toString(),
      '{"error":{"code":13,"message":"boom\\nline","details":[]}}\n',
    );
    assert.equal(SSE_FRAMING.contentType, 'text/event-stream');
    assert.equal(SSE_FRAMING.message({ a: 1 }).toString(), 'data: {"a":1}\n\n');
    assert.equal(
      SSE_FRAMING.error(status).toString(),
      'event: error\ndata: {"code":13,"message":"boom\\nline","details":[]}\n\n',
    );
  });
});

describe('NdjsonSplitter', () => {
  const body = '{"a":1}\n\r\n{"b":"caf\u00e9 \u{1f600}"}\r\n  \n[1,2]\n"last"';
  const expected = [{ a: 1 }, { b: 'caf\u00e9 \u{1f600}' }, [1, 2], 'last'];

  test('splits whatever the chunking, even inside a multi-byte character', async () => {
    const bytes = Buffer.from(body);
    assert.deepEqual(await split([bytes]), expected);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(await split([bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at ${cut}`);
    }
    assert.deepEqual(await split([...bytes].map((byte) => Buffer.from([byte]))), expected);
  });

  test('an empty body and blank lines give nothing; a BOM is ignored', async () => {
    assert.deepEqual(await split([]), []);
    assert.deepEqual(await split(['\n\n  \r\n']), []);
    assert.deepEqual(await split(['\ufeff{"x":1}\n']), [{ x: 1 }]);
  });

  test('a bad line fails with 400 naming its number', async () => {
    const err = await splitError(['{"ok":true}\n{"ok":', 'tru}\n{"never":1}\n']);
    assert.ok(err instanceof NdjsonLineError);
    assert.equal(err.status, 400);
    assert.equal(err.line, 2);
    assert.match(err.message, /line 2/);
  });

  test('a line over the limit fails with 413 as soon as it is over, without waiting for its end', async () => {
    // A body that never ends: only an early failure lets this test finish.
    const body = new Readable({ read() {} });
    body.push(Buffer.from(`{"a":1}\n"${'x'.repeat(20)}`));
    const splitter = body.pipe(new NdjsonSplitter({ maxLineBytes: 16 }));
    const err = await (async () => {
      try {
        for await (const _value of splitter);
      } catch (error) {
        return error;
      }
    })();
    body.destroy();
    assert.ok(err instanceof NdjsonLineTooLongError);
    assert.equal(err.status, 413);
    assert.equal(err.line, 2);
    assert.deepEqual(await split([`"${'y'.repeat(14)}"\r\n`], 16), ['y'.repeat(14)]);
    const atEnd = await splitError([`"${'y'.repeat(15)}"`], 16);
    assert.ok(atEnd instanceof NdjsonLineTooLongError);
  });

  test('refuses a bad limit', () => {
    assert.throws(() => new NdjsonSplitter({ maxLineBytes: 0 }), GrpcCallOptionError);
  });
});
