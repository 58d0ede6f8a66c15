import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../src/index.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

test('writes one JSON object per line with level, name, time and fields', () => {
  const out = capture();
  const logger = createLogger({ name: 'front-proxy', destination: out.stream });
  logger.info({ route: 'demo' }, 'hello');
  const [line] = out.lines();
  assert.equal(line?.msg, 'hello');
  assert.equal(line?.name, 'front-proxy');
  assert.equal(line?.route, 'demo');
  assert.equal(line?.level, 30);
  assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
});

test('level filters lower levels', () => {
  const out = capture();
  const logger = createLogger({ level: 'warn', destination: out.stream });
  logger.info('dropped');
  logger.warn('kept');
  assert.deepEqual(
    out.lines().map((l) => l.msg),
    ['kept'],
  );
});

test('an unknown level is refused, naming the option', () => {
  assert.throws(() => createLogger({ level: 'loud' }), /options\.level must be one of/);
});
