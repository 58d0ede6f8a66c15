/**
 * The Nacos source sees a real Apache Dubbo 3 provider (e2e/peers/dubbo-provider) that registers in a REAL Nacos
 * server (e2e/testkit/src/nacos.ts) through Nacos's Java client (gRPC): interface-level services named as Dubbo
 * names them in Nacos (`providers:<iface>:<version>:<group>`, one instance per protocol) and the application-level
 * service (the app name, protocols in `dubbo.endpoints`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nacosServiceName, RegistrySpec } from '@portico/config';
import { type DubboProviderPeer, type NacosServer, startDubboProvider, startNacos, waitUntil } from '@portico/testkit';
import type { DiscoverySource, SpecOf } from '../src/index.ts';
import { nacosSource } from '../src/sources/nacos/nacos-source.ts';
import { RecordingSink } from './recording-sink.ts';

let nacos: NacosServer;
let provider: DubboProviderPeer | undefined;
let source: DiscoverySource | undefined;

before(async () => {
  nacos = await startNacos();
});

after(async () => {
  await source?.stop();
  await provider?.stop();
  await nacos?.stop();
});

test('a Dubbo 3 provider registered in Nacos: interface-level (tri and dubbo) and application-level', async () => {
  const sink = new RecordingSink();
  source = nacosSource({
    name: 'nacos',
    sink,
    spec: RegistrySpec.parse({
      type: 'nacos',
      addresses: [nacos.address],
      refreshInterval: '500ms',
    }) as SpecOf<'nacos'>,
  });
  await source.start();
  provider = await startDubboProvider({
    registry: `nacos://${nacos.address}`,
    name: 'demo-app',
    version: '1.0.0',
    group: 'g1',
    weight: 60,
  });
  const iface = nacosServiceName('providers:com.example.DemoService:1.0.0:g1');
  const app = nacosServiceName('demo-app');
  await waitUntil(
    'the provider interface-level (both protocols) and application-level',
    () =>
      (sink.services.get(iface)?.endpoints.length ?? 0) >= 2 && (sink.services.get(app)?.endpoints.length ?? 0) >= 1,
    { timeoutMs: 30_000 },
  );
  const byProtocol = new Map(sink.services.get(iface)!.endpoints.map((e) => [e.protocol, e]));
  assert.equal(byProtocol.get('tri')?.port, provider.triPort);
  assert.equal(byProtocol.get('dubbo')?.port, provider.dubboPort);
  assert.equal(byProtocol.get('tri')?.weight, 60, "Dubbo's weight parameter, not Nacos's default 1.0");
  assert.equal(byProtocol.get('tri')?.healthy, true);
  assert.equal(byProtocol.get('tri')?.metadata.interface, 'com.example.DemoService');
  const [instance] = sink.services.get(app)!.endpoints;
  assert.ok(instance!.protocol === 'tri' || instance!.protocol === 'dubbo', `app-level protocol ${instance!.protocol}`);
  assert.ok(![...sink.services.keys()].some((n) => n.startsWith('consumers:')));

  await provider.stop();
  provider = undefined;
  await waitUntil(
    'the provider gone after it stopped (deregistered)',
    () => sink.services.get(iface)?.endpoints.length === 0 || !sink.services.has(iface),
    { timeoutMs: 20_000 },
  );
});
