/**
 * GrpcChannels against real grpc-js servers: one channel per endpoint, idle channels closed, close() ending calls
 * in flight and leaving no connection behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type GrpcTestServer, startGrpcServer, waitUntil } from '@portico/testkit';
import { GrpcCallOptionError, GrpcChannels, GrpcChannelsClosedError, type GrpcEndpoint } from '../src/index.ts';
import { type Codec, codec, demoRegistry, recorder } from './call-helpers.ts';

const SAY = '/portico.test.Echo/Say';

/** Open TCP connections of this process: only the channels' (the servers here hold none of their own). */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
}

describe('GrpcChannels', () => {
  let a: GrpcTestServer;
  let b: GrpcTestServer;
  let proto: Codec;
  let endpointA: GrpcEndpoint;
  let endpointB: GrpcEndpoint;

  before(async () => {
    [a, b, proto] = await Promise.all([startGrpcServer(), startGrpcServer(), demoRegistry().then(codec)]);
    endpointA = { address: '127.0.0.1', port: a.port };
    endpointB = { address: '127.0.0.1', port: b.port };
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  function say(channels: GrpcChannels, endpoint: GrpcEndpoint, delayMs = 0) {
    const { listener, rec } = recorder();
    const call = channels.startCall(
      endpoint,
      { path: SAY, kind: 'unary', message: proto.encode('EchoRequest', { message: 'hi', delayMs }) },
      listener,
    );
    return { call, rec };
  }

  test('refuses bad options, naming them', () => {
    assert.throws(() => new GrpcChannels({ idleMs: 0 }), GrpcCallOptionError);
    assert.throws(() => new GrpcChannels({ maxMessageBytes: 1.5 }), GrpcCallOptionError);
  });

  test('one channel per endpoint, shared by its calls', async () => {
    const channels = new GrpcChannels();
    try {
      const calls = [say(channels, endpointA), say(channels, endpointA), say(channels, endpointB)];
      assert.equal(channels.size, 2);
      const codes = await Promise.all(calls.map(({ rec }) => rec.ended.then((s) => s.code)));
      assert.deepEqual(codes, [status.OK, status.OK, status.OK]);
      say(channels, endpointA);
      assert.equal(channels.size, 2);
    } finally {
      channels.close();
    }
  });

  test('a channel idle for idleMs is closed, one with a call in flight is kept, and a new call reopens', async () => {
    const channels = new GrpcChannels({ idleMs: 150 });
    try {
      const slow = say(channels, endpointA, 800);
      const quick = say(channels, endpointB);
      assert.equal((await quick.rec.ended).code, status.OK);
      await waitUntil('the idle channel to B to close', () => channels.size === 1 || undefined);
      assert.equal(slow.rec.status, undefined, 'the call to A is still in flight');
      assert.equal((await slow.rec.ended).code, status.OK);
      await waitUntil('the channel to A to close once idle', () => channels.size === 0 || undefined);
      const again = say(channels, endpointB);
      assert.equal(channels.size, 1);
      assert.equal((await again.rec.ended).code, status.OK);
    } finally {
      channels.close();
    }
  });

  test('close() ends calls in flight with UNAVAILABLE, closes every connection and refuses new calls', async () => {
    await waitUntil('connections of earlier tests to close', () => tcpSockets() === 0 || undefined);
    const channels = new GrpcChannels();
    const done = say(channels, endpointB);
    assert.equal((await done.rec.ended).code, status.OK);
    const inFlight = say(channels, endpointA, 5000);
    await waitUntil('the call to reach the server', () => a.calls.some((call) => !call.cancelled) || undefined);
    assert.ok(tcpSockets() > 0, 'connections are open');

    channels.close();
    assert.equal(inFlight.rec.status?.code, status.UNAVAILABLE);
    assert.equal(channels.size, 0);
    assert.throws(() => say(channels, endpointA), GrpcChannelsClosedError);
    channels.close();
    await waitUntil('the server to see the call cancelled', () => a.calls.at(-1)?.cancelled);
    await waitUntil('every connection to close', () => tcpSockets() === 0 || undefined);
  });
});
