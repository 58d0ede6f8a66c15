import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusOptionsError } from '../src/index.ts';
import { resolveOptions } from '../src/nats/options.ts';

test('nats options: defaults fill in and one server becomes a list', () => {
  assert.deepEqual(resolveOptions({ servers: 'nats://127.0.0.1:4222' }), {
    servers: ['nats://127.0.0.1:4222'],
    prefix: 'portico',
    name: 'portico-bus',
    requestTimeout: 2000,
    reconnectTimeWait: 500,
  });
  const given = resolveOptions({
    servers: ['nats://a:4222', 'nats://b:4222'],
    bucketPrefix: 'team-a',
    name: 'cli',
    requestTimeout: 100,
    reconnectTimeWait: 50,
  });
  assert.deepEqual(given, {
    servers: ['nats://a:4222', 'nats://b:4222'],
    prefix: 'team-a',
    name: 'cli',
    requestTimeout: 100,
    reconnectTimeWait: 50,
  });
});

test('nats options: each broken rule names its option', () => {
  const cases: Array<[Parameters<typeof resolveOptions>[0], string]> = [
    [{ servers: [] }, 'servers'],
    [{ servers: '' }, 'servers'],
    [{ servers: ['nats://a:4222', ''] }, 'servers'],
    [{ servers: 'nats://a:4222', bucketPrefix: 'has.dot' }, 'bucketPrefix'],
    [{ servers: 'nats://a:4222', requestTimeout: 0 }, 'requestTimeout'],
    [{ servers: 'nats://a:4222', requestTimeout: 1.5 }, 'requestTimeout'],
    [{ servers: 'nats://a:4222', reconnectTimeWait: -1 }, 'reconnectTimeWait'],
  ];
  for (const [opts, option] of cases) {
    assert.throws(
      () => resolveOptions(opts),
      (err: unknown) => {
        assert.ok(err instanceof BusOptionsError);
        assert.equal(err.code, 'PORTICO_ERR_BUS_OPTIONS');
        assert.equal(err.details[0]?.path, option, JSON.stringify(opts));
        return true;
      },
    );
  }
});
