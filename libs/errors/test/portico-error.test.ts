import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PorticoError } from '../src/index.ts';

class DemoError extends PorticoError {
  constructor(path: string) {
    super('PORTICO_ERR_DEMO_BAD', 'bad field', { status: 400, details: [{ path, message: 'must be a string' }] });
  }
}

test('subclass keeps code, status, name and details; JSON has no stack', () => {
  const err = new DemoError('spec.x');
  assert.equal(err.name, 'DemoError');
  assert.equal(err.code, 'PORTICO_ERR_DEMO_BAD');
  assert.equal(err.status, 400);
  const body = JSON.parse(JSON.stringify(err));
  assert.deepEqual(body, {
    error: {
      code: 'PORTICO_ERR_DEMO_BAD',
      message: 'bad field',
      details: [{ path: 'spec.x', message: 'must be a string' }],
    },
  });
});

test('cause is carried', () => {
  const root = new Error('root');
  const err = new PorticoError('PORTICO_ERR_X_Y', 'wrapped', { cause: root });
  assert.equal(err.cause, root);
  assert.equal(err.status, 500);
});
