/** A mode is a list of services: what each mode runs, what --workers changes, and how a failed start is told. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceStartError } from '@portico/runtime';
import { CliListenError, CliUsageError } from '../src/errors.ts';
import { checkMode, explainStartFailure, modeServices } from '../src/serve/modes.ts';
import type { Mode, ServeOptions } from '../src/serve/options.ts';

const options = (mode: Mode, more: Partial<ServeOptions> = {}): ServeOptions => ({
  mode,
  nats: 'nats://127.0.0.1:4222',
  proxyPort: 8080,
  proxyHost: '0.0.0.0',
  adminPort: 9901,
  adminHost: '127.0.0.1',
  logLevel: 'info',
  ...more,
});

const names = (opts: ServeOptions) => modeServices(opts, () => true).list.map((s) => s.name);

test('each mode runs its list of services in order, the proxy last so that it stops first', () => {
  assert.deepEqual(names(options('standalone')), ['discovery-syncer', 'admin-api', 'front-proxy']);
  assert.deepEqual(names(options('front-proxy')), ['admin-api', 'front-proxy']);
  assert.deepEqual(names(options('discovery-syncer')), ['discovery-syncer', 'admin-api']);
});

test('--workers only swaps the in-process proxy for proxy worker processes', () => {
  assert.deepEqual(names(options('standalone', { workers: 2 })), ['discovery-syncer', 'admin-api', 'proxy-workers']);
  assert.deepEqual(names(options('front-proxy', { workers: 4 })), ['admin-api', 'proxy-workers']);
  assert.deepEqual(names(options('standalone', { workers: 1 })), ['discovery-syncer', 'admin-api', 'front-proxy']);
  const mode = modeServices(options('standalone', { workers: 2 }), () => true);
  assert.equal(mode.proxy?.name, 'proxy-workers');
  assert.equal(mode.admin.name, 'admin-api');
});

test('a mode refuses --workers when it runs no proxy, and NATS is required outside standalone', () => {
  assert.throws(
    () => checkMode(options('discovery-syncer', { workers: 1 })),
    (err) =>
      err instanceof CliUsageError &&
      err.message === '--workers sets how many processes run the proxy; discovery-syncer runs no proxy',
  );
  assert.throws(() => checkMode(options('front-proxy', { nats: undefined })), /front-proxy needs --nats URL/);
  checkMode(options('standalone', { nats: undefined, workers: 3 }));
  checkMode(options('front-proxy', { workers: 3 }));
});

test('a failed start names the listener and the flag to change; anything else is the cause itself', () => {
  const inUse = (port: number) =>
    Object.assign(new Error('listen EADDRINUSE'), { syscall: 'listen', code: 'EADDRINUSE', port });
  const opts = options('standalone', { tlsPort: 8443 });
  const told = (service: string, cause: unknown) => explainStartFailure(new ServiceStartError(service, cause), opts);

  for (const service of ['front-proxy', 'proxy-workers']) {
    const proxy = told(service, inUse(8080));
    assert.ok(proxy instanceof CliListenError);
    assert.equal(proxy.message, 'port 8080 is in use (proxy); choose another with --proxy-port');
    assert.equal(
      (told(service, inUse(8443)) as Error).message,
      'port 8443 is in use (tls); choose another with --tls-port',
    );
    const refused = told(service, new TypeError('trustedProxies[0] must be an IP address or CIDR'));
    assert.ok(refused instanceof CliUsageError);
  }
  assert.equal(
    (told('admin-api', inUse(9901)) as Error).message,
    'port 9901 is in use (admin); choose another with --admin-port',
  );
  const other = new Error('registry unreachable');
  assert.equal(told('discovery-syncer', other), other);
  assert.equal(explainStartFailure(other, opts), other);
});
