import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type DubboFrame,
  DubboPayloadTooLargeError,
  DubboProtocolError,
  encodeFrame,
  FrameDecoder,
  HEADER_LENGTH,
  heartbeatRequest,
  heartbeatResponse,
  isHeartbeat,
  isReadonlyEvent,
  READONLY_EVENT_BODY,
} from '../src/index.ts';

/** A deterministic generator, so a failing chunking can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('frame', () => {
  it('encodes the 16-byte header: magic, flags with hessian2, status, id, length', () => {
    const body = Buffer.from('abc');
    const bytes = encodeFrame({ request: true, twoWay: true, id: 0x0102030405060708n, body });
    assert.equal(bytes.length, HEADER_LENGTH + 3);
    assert.deepEqual([...bytes.subarray(0, 4)], [0xda, 0xbb, 0x80 | 0x40 | 2, 0]);
    assert.equal(bytes.readBigInt64BE(4), 0x0102030405060708n);
    assert.equal(bytes.readUInt32BE(12), 3);
    assert.deepEqual(bytes.subarray(16), body);
  });

  it('round-trips frames of every kind through any chunking', () => {
    const frames: Array<Omit<DubboFrame, 'serialization'>> = [];
    for (let i = 0; i < 200; i++) {
      frames.push({
        request: i % 3 === 0,
        twoWay: i % 3 === 0,
        event: i % 7 === 0,
        status: i % 3 === 0 ? 0 : 20,
        id: BigInt(i) * 1_000_003n - 5n,
        body: randomBytes(i % 5 === 0 ? 0 : (i * 37) % 3000),
      });
    }
    const stream = Buffer.concat(frames.map((f) => encodeFrame(f)));
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rand = prng(seed);
      const decoder = new FrameDecoder();
      const got: DubboFrame[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 5000);
        got.push(...decoder.push(stream.subarray(at, at + size)));
        at += size;
      }
      assert.equal(got.length, frames.length, `seed ${seed}`);
      got.forEach((f, i) => {
        const want = frames[i] as (typeof frames)[number];
        assert.equal(f.request, want.request);
        assert.equal(f.twoWay, want.twoWay);
        assert.equal(f.event, want.event);
        assert.equal(f.status, want.status);
        assert.equal(f.id, want.id);
        assert.equal(f.serialization, 2);
        assert.deepEqual(f.body, want.body, `seed ${seed} frame ${i}`);
      });
      assert.equal(decoder.buffered, 0);
    }
  });

  it('refuses a body over the limit from its header, before buffering it', () => {
    const decoder = new FrameDecoder({ payloadLimit: 1024 });
    const header = encodeFrame({ request: false, status: 20, id: 1n, body: Buffer.alloc(1025) }).subarray(0, 16);
    assert.throws(
      () => decoder.push(header),
      (err: unknown) =>
        err instanceof DubboPayloadTooLargeError &&
        err.size === 1025 &&
        err.limit === 1024 &&
        err.code === 'PORTICO_ERR_DUBBO_PAYLOAD_TOO_LARGE' &&
        /over the payload limit of 1024 bytes/.test(err.message),
    );
    const atLimit = new FrameDecoder({ payloadLimit: 1024 });
    assert.equal(atLimit.push(encodeFrame({ request: false, status: 20, id: 1n, body: Buffer.alloc(1024) })).length, 1);
  });

  it('defaults to an 8 MiB limit, as Dubbo', () => {
    const header = Buffer.alloc(16);
    header.writeUInt16BE(0xdabb, 0);
    header.writeUInt32BE(8 * 1024 * 1024 + 1, 12);
    assert.throws(() => new FrameDecoder().push(header), DubboPayloadTooLargeError);
  });

  it('refuses bytes without the magic', () => {
    assert.throws(
      () => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      (err: unknown) => err instanceof DubboProtocolError && /magic 0x4745/.test(err.message),
    );
  });

  it('builds heartbeats both ways and recognises the READONLY event', () => {
    const [req] = new FrameDecoder().push(heartbeatRequest(9n));
    assert.ok(req?.request && req.twoWay && req.event && isHeartbeat(req));
    const [res] = new FrameDecoder().push(heartbeatResponse(9n));
    assert.ok(res && !res.request && res.event && res.status === 20 && res.id === 9n && isHeartbeat(res));
    const [ro] = new FrameDecoder().push(
      encodeFrame({ request: true, event: true, id: 3n, body: READONLY_EVENT_BODY }),
    );
    assert.ok(ro && isReadonlyEvent(ro) && !isHeartbeat(ro));
  });
});
