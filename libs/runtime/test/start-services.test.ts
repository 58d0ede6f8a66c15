/** startServices: order of start and close, failure part-way, readiness of the whole, and withOptions. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createMemoryBus } from '@portico/bus';
import { createLogger, createMetricsRegistry, ProxyMetrics } from '@portico/observability';
import {
  type RunningService,
  type Service,
  type ServiceDeps,
  ServiceStartError,
  startServices,
  withOptions,
} from '@portico/runtime';

/** Real deps; `lines` collects what the logger writes. */
function deps(): { deps: ServiceDeps; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const registry = createMetricsRegistry();
  return {
    deps: {
      bus: createMemoryBus(),
      logger: createLogger({ level: 'error', destination }),
      registry,
      metrics: new ProxyMetrics(registry),
    },
    lines,
  };
}

interface Probe extends RunningService {
  readonly id: string;
  setReady(ready: boolean): void;
}

/** A service that records its start and close in `events`; `fail` makes start or close throw. */
function probe(name: string, events: string[], fail?: 'start' | 'close'): Service<object, Probe> {
  return {
    name,
    async start() {
      events.push(`start ${name}`);
      if (fail === 'start') throw new Error(`${name} broke`);
      let ready = true;
      return {
        id: name,
        ready: () => ready,
        setReady: (r: boolean) => {
          ready = r;
        },
        async close() {
          events.push(`close ${name}`);
          if (fail === 'close') throw new Error(`${name} close broke`);
        },
      };
    },
  };
}

test('starts in list order, closes in reverse, once however often close() is called', async () => {
  const events: string[] = [];
  const [syncer, admin, proxy] = ['syncer', 'admin', 'proxy'].map((n) => probe(n, events)) as [
    Service<object, Probe>,
    Service<object, Probe>,
    Service<object, Probe>,
  ];
  const running = await startServices([syncer, admin, proxy], deps().deps);
  assert.deepEqual(events, ['start syncer', 'start admin', 'start proxy']);
  assert.equal(running.get(proxy).id, 'proxy');
  await Promise.all([running.close(), running.close()]);
  await running.close();
  assert.deepEqual(events.slice(3), ['close proxy', 'close admin', 'close syncer']);
});

test('the last listed stops first while the earlier ones still run, and the whole reports not ready from close()', async () => {
  const events: string[] = [];
  const admin = probe('admin', events);
  let seenWhileProxyCloses: { adminClosed: boolean; ready: boolean } | undefined;
  let group: Awaited<ReturnType<typeof startServices>> | undefined;
  const proxy: Service<object, RunningService> = {
    name: 'proxy',
    async start() {
      return {
        ready: () => true,
        async close() {
          seenWhileProxyCloses = { adminClosed: events.includes('close admin'), ready: group!.ready() };
        },
      };
    },
  };
  group = await startServices([admin, proxy], deps().deps);
  assert.equal(group.ready(), true);
  await group.close();
  assert.deepEqual(seenWhileProxyCloses, { adminClosed: false, ready: false });
  assert.deepEqual(events, ['start admin', 'close admin']);
});

test('ready() is true only while every service is ready', async () => {
  const events: string[] = [];
  const a = probe('a', events);
  const b = probe('b', events);
  const running = await startServices([a, b], deps().deps);
  assert.equal(running.ready(), true);
  running.get(b).setReady(false);
  assert.equal(running.ready(), false);
  running.get(b).setReady(true);
  assert.equal(running.ready(), true);
  await running.close();
});

test('a failed start closes what started, in reverse, and names the service that failed', async () => {
  const events: string[] = [];
  const list = [probe('a', events), probe('b', events), probe('c', events, 'start'), probe('d', events)];
  const err = await startServices(list, deps().deps).then(
    () => assert.fail('startServices resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ServiceStartError);
  assert.equal(err.code, 'PORTICO_ERR_RUNTIME_START');
  assert.equal(err.service, 'c');
  assert.equal((err.cause as Error).message, 'c broke');
  assert.deepEqual(events, ['start a', 'start b', 'start c', 'close b', 'close a']);
});

test('a close that throws is logged and the others still close', async () => {
  const events: string[] = [];
  const { deps: d, lines } = deps();
  const running = await startServices([probe('a', events), probe('b', events, 'close')], d);
  await running.close();
  assert.deepEqual(events.slice(2), ['close b', 'close a']);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.service, 'b');
  assert.equal(lines[0]!.msg, 'service failed to close');
  assert.equal((lines[0]!.err as { message: string }).message, 'b close broke');
});

test('get() refuses a service that is not in the list; a list naming one service twice is refused', async () => {
  const events: string[] = [];
  const a = probe('a', events);
  const running = await startServices([a], deps().deps);
  assert.throws(() => running.get(probe('other', events)), /other is not one of the services started/);
  await running.close();
  await assert.rejects(startServices([a, a], deps().deps), /must not list a service twice/);
});

test('withOptions hands the service its options beside the shared deps, under the same name', async () => {
  let seen: (ServiceDeps & { port: number }) | undefined;
  const listener: Service<{ port: number }> = {
    name: 'listener',
    async start(d) {
      seen = d;
      return { ready: () => true, close: async () => {} };
    },
  };
  const { deps: d } = deps();
  const bound = withOptions(listener, { port: 8080 });
  assert.equal(bound.name, 'listener');
  const running = await startServices([bound], d);
  assert.equal(seen?.port, 8080);
  assert.equal(seen?.bus, d.bus);
  assert.equal(seen?.logger, d.logger);
  await running.close();
});
