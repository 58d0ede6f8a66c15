import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, newSpanId, nextTraceparent, parseTraceparent } from '../src/index.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const SHAPE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

test('parses the spec example', () => {
  assert.deepEqual(parseTraceparent(VALID), {
    version: '00',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    parentId: '00f067aa0ba902b7',
    flags: 1,
  });
});

test('rejects what the spec rejects', () => {
  const bad = {
    absent: undefined,
    empty: '',
    short: VALID.slice(0, 54),
    'v00 with extra': `${VALID}-extra`,
    'version ff': `ff${VALID.slice(2)}`,
    'uppercase hex': VALID.toUpperCase(),
    'zero trace id': `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    'zero parent id': `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
    'bad separator': VALID.replace('-00f0', '_00f0'),
    'non-hex flags': `${VALID.slice(0, 53)}0x`,
    'non-hex trace id': VALID.replace('4bf9', 'zbf9'),
    'future version, junk after flags': `01${VALID.slice(2)}x`,
  };
  for (const [what, header] of Object.entries(bad)) assert.equal(parseTraceparent(header), undefined, what);
});

test('accepts a future version with more fields after a dash', () => {
  assert.equal(
    parseTraceparent(`cc${VALID.slice(2)}-what-the-future-holds`)?.traceId,
    '4bf92f3577b34da6a3ce929d0e0e4736',
  );
});

test('nextTraceparent keeps trace id and flags, replaces the parent id', () => {
  const next = nextTraceparent(VALID.replace(/01$/, '00'));
  assert.match(next, SHAPE);
  const ctx = parseTraceparent(next)!;
  assert.equal(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(ctx.flags, 0);
  assert.notEqual(ctx.parentId, '00f067aa0ba902b7');
  assert.notEqual(nextTraceparent(VALID), nextTraceparent(VALID), 'a new parent id per hop');
});

test('nextTraceparent downgrades a future version to 00', () => {
  const next = nextTraceparent(`cc${VALID.slice(2)}-more`);
  assert.match(next, SHAPE);
  assert.equal(parseTraceparent(next)?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
});

test('nextTraceparent starts a fresh sampled trace when absent or invalid', () => {
  for (const incoming of [undefined, 'garbage', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`]) {
    const next = nextTraceparent(incoming);
    assert.match(next, SHAPE);
    assert.notEqual(parseTraceparent(next)?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(parseTraceparent(next)?.flags, 1);
  }
  const ids = new Set(Array.from({ length: 2000 }, () => parseTraceparent(nextTraceparent())!.traceId));
  assert.equal(ids.size, 2000, 'trace ids do not repeat across pool refills');
});

test('span ids are 16 hex digits', () => {
  assert.match(newSpanId(), /^[0-9a-f]{16}$/);
});

test('formatTraceparent writes version 00 and two-digit flags', () => {
  assert.equal(
    formatTraceparent({ traceId: 'a'.repeat(32), parentId: 'b'.repeat(16), flags: 1 }),
    `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  );
});

/** Nanoseconds of this process's CPU per call: unlike wall time, not inflated while other processes hold the CPU. */
function cpuNsPerCall(n: number, fn: () => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / n;
}

test('nextTraceparent is cheap', () => {
  const n = 50_000;
  for (let i = 0; i < n; i++) nextTraceparent(VALID);
  const continued = cpuNsPerCall(n, () => nextTraceparent(VALID));
  const fresh = cpuNsPerCall(n, () => nextTraceparent(undefined));
  assert.ok(continued < 3000 && fresh < 3000, `continued ${continued.toFixed(0)} ns, fresh ${fresh.toFixed(0)} ns`);
});

test('newRequestId: version-4 UUID shape, no repeats in 100k draws', async () => {
  const { newRequestId } = await import('../src/index.ts');
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const id = newRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 100_000);
});
