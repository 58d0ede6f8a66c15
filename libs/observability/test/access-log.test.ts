import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AccessRecord, accessLogWriter, createLogger } from '../src/index.ts';

function capture(level = 'info') {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    name: 'portico-test',
    destination: { write: (l: string) => void lines.push(l) },
  });
  return { logger, lines };
}

const base: AccessRecord = {
  requestId: 'd8cf3e61-8d73-4d53-bd32-0bd920b4e419',
  method: 'GET',
  host: 'shop.example.com',
  path: '/cart?token&page',
  status: 200,
  ms: 1.23,
  route: 'shop',
  backend: 'orders',
  client: '10.0.0.7',
  ua: 'curl/8.5.0',
};

test('the access line is the line pino writes for logger.info(record), byte for byte but the clock', () => {
  const cases: AccessRecord[] = [
    base,
    // Strings that need escaping, fields left out, an upgrade, a repeated Host.
    { ...base, path: '/a"b\\c\u0001\u2028é', ua: 'x"y\n', host: ['a.example', 'b.example'] },
    { ...base, requestId: undefined, method: undefined, host: undefined, path: undefined, ua: undefined, status: 404 },
    { ...base, upgrade: 'websocket', status: 101, ms: 0 },
  ];
  for (const record of cases) {
    const ours = capture();
    const theirs = capture();
    accessLogWriter(ours.logger)!(record);
    theirs.logger.info({ msg: 'access', ...record });
    const strip = (l: string) => l.replace(/"time":"[^"]+"/, '"time":""');
    assert.equal(strip(ours.lines[0]!), strip(theirs.lines[0]!));
    assert.deepEqual(Object.keys(JSON.parse(ours.lines[0]!)), Object.keys(JSON.parse(theirs.lines[0]!)));
  }
});

test('no writer when the level drops info', () => {
  assert.equal(accessLogWriter(capture('warn').logger), undefined);
  assert.equal(typeof accessLogWriter(capture('debug').logger), 'function');
});
