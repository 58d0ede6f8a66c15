/**
 * The Nacos source with username/password against a REAL Nacos server started with auth on
 * (e2e/testkit/src/nacos.ts): it logs in for an accessToken and lists with it; a wrong password is an outage
 * (down() with the login failure), never an empty registry.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RegistrySpec } from '@portico/config';
import { type NacosServer, startNacos, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { nacosSource } from '../src/sources/nacos/nacos-source.ts';
import { RecordingSink } from './recording-sink.ts';

/** Registry changes can take a few watch or poll rounds to reach the sink. */
const WAIT = { timeoutMs: 10_000 };

const PASSWORD = 'portico-Test-1';
let nacos: NacosServer;
const sources: DiscoverySource[] = [];

async function call(method: string, path: string, form: Record<string, string>): Promise<string> {
  const res = await fetch(`${nacos.url}${path}`, {
    method,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${method} ${path}: ${text}`);
  return text;
}

function watch(credentials: { username: string; password: string }): { sink: RecordingSink; source: DiscoverySource } {
  const sink = new RecordingSink();
  const spec = RegistrySpec.parse({
    type: 'nacos',
    addresses: [nacos.address],
    credentials,
    refreshInterval: '500ms',
  }) as SpecOf<'nacos'>;
  const source = nacosSource({ name: 'nacos', sink, spec });
  sources.push(source);
  return { sink, source };
}

before(async () => {
  nacos = await startNacos({
    properties: { 'nacos.core.auth.enabled': 'true', 'nacos.core.auth.caching.enabled': 'false' },
  });
  // Nacos 3 starts with no users: the first call sets the admin's password.
  await call('POST', '/v3/auth/user/admin', { password: PASSWORD });
  const { accessToken } = JSON.parse(
    await call('POST', '/v1/auth/login', { username: 'nacos', password: PASSWORD }),
  ) as { accessToken: string };
  const q = new URLSearchParams({
    serviceName: 'secure',
    ip: '127.0.0.1',
    port: '9501',
    metadata: JSON.stringify({ 'preserved.heart.beat.timeout': '600000', 'preserved.ip.delete.timeout': '600000' }),
    accessToken,
  });
  const res = await fetch(`${nacos.url}/v1/ns/instance?${q}`, { method: 'POST' });
  assert.equal(await res.text(), 'ok');
});

after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await nacos?.stop();
});

test('username/password: logs in and lists with the token', async () => {
  const { sink, source } = watch({ username: 'nacos', password: PASSWORD });
  await source.start();
  await waitUntil('listed', () => sink.services.get('secure.DEFAULT_GROUP.public')?.endpoints[0]?.port === 9501, WAIT);
  assert.ok(!sink.calls.some((c) => c.type === 'down'));
});

test('a wrong password is an outage (down with the login failure), not an empty registry', async () => {
  const { sink, source } = watch({ username: 'nacos', password: 'wrong' });
  await source.start();
  await waitUntil('down()', () => sink.calls.some((c) => c.type === 'down'), WAIT);
  const down = sink.calls.find((c) => c.type === 'down');
  assert.match(down?.type === 'down' ? down.error.message : '', /login as "nacos"/);
  assert.ok(!sink.calls.some((c) => c.type === 'snapshot'));
});
