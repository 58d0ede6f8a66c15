import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Balanced } from '../src/balancer/balancer.ts';
import { ConsistentHashBalancer } from '../src/balancer/consistent-hash.ts';
import { LeastRequestBalancer } from '../src/balancer/least-request.ts';
import { RoundRobinBalancer } from '../src/balancer/round-robin.ts';

interface E extends Balanced {
  key: string;
  weight: number;
  active: number;
}
const eps = (...weights: number[]): E[] =>
  weights.map((weight, i) => ({ key: `10.0.0.${i + 1}:80`, weight, active: 0 }));

function counts(pick: () => E, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = pick().key;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

describe('RoundRobinBalancer', () => {
  it('honours weights exactly over a cycle, interleaved (smooth)', () => {
    const list = eps(5, 1, 1);
    const rr = new RoundRobinBalancer<E>();
    const seq = Array.from({ length: 7 }, () => rr.pick(list, undefined, undefined).key.slice(-4, -3));
    assert.deepEqual(seq, ['1', '1', '2', '1', '3', '1', '1']);
    const c = counts(() => rr.pick(list, undefined, undefined), 700);
    assert.deepEqual(
      [...c.values()].sort((a, b) => a - b),
      [100, 100, 500],
    );
  });

  it('rotates through equal weights and avoids excluded endpoints', () => {
    const list = eps(1, 1, 1);
    const rr = new RoundRobinBalancer<E>();
    const c = counts(() => rr.pick(list, undefined, undefined), 300);
    assert.deepEqual([...c.values()], [100, 100, 100]);
    const ex = new Set([list[0]!, list[1]!]);
    for (let i = 0; i < 5; i++) assert.equal(rr.pick(list, undefined, ex), list[2]);
    // everything excluded: still answers
    assert.ok(list.includes(rr.pick(list, undefined, new Set(list))));
  });
});

describe('LeastRequestBalancer', () => {
  it('prefers the less loaded endpoint and never picks the most loaded of three', () => {
    const list = eps(1, 1, 1);
    list[0]!.active = 0;
    list[1]!.active = 5;
    list[2]!.active = 10;
    const lr = new LeastRequestBalancer<E>();
    const c = counts(() => lr.pick(list, undefined, undefined), 3000);
    assert.equal(c.get(list[2]!.key) ?? 0, 0);
    assert.ok((c.get(list[0]!.key) ?? 0) > 1800, `least loaded got ${c.get(list[0]!.key)}`);
  });

  it('with two endpoints always picks the idle one', () => {
    const list = eps(1, 1);
    list[1]!.active = 3;
    const lr = new LeastRequestBalancer<E>();
    for (let i = 0; i < 100; i++) assert.equal(lr.pick(list, undefined, undefined), list[0]);
  });

  it('honours weights statistically when idle, and counts load per weight', () => {
    const list = eps(3, 1);
    const lr = new LeastRequestBalancer<E>();
    const c = counts(() => lr.pick(list, undefined, undefined), 8000);
    const share = (c.get(list[0]!.key) ?? 0) / 8000;
    assert.ok(share > 0.7 && share < 0.99, `weight-3 share ${share}`);
    // 4 in flight on weight 3 (5/3) beats 2 on weight 1 (3/1)
    list[0]!.active = 4;
    list[1]!.active = 2;
    const c2 = counts(() => lr.pick(list, undefined, undefined), 2000);
    assert.ok((c2.get(list[0]!.key) ?? 0) > (c2.get(list[1]!.key) ?? 0));
  });
});

describe('ConsistentHashBalancer', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

  function mapping(ch: ConsistentHashBalancer<E>, list: E[]): Map<string, string> {
    return new Map(keys.map((k) => [k, ch.pick(list, k, undefined).key]));
  }

  it('sends a key to the same endpoint, spread in proportion to weight', () => {
    const list = eps(1, 1, 2);
    const ch = new ConsistentHashBalancer<E>();
    ch.rebuild(list);
    assert.equal(ch.pick(list, 'abc', undefined), ch.pick(list, 'abc', undefined));
    const c = new Map<string, number>();
    for (const k of keys) {
      const e = ch.pick(list, k, undefined).key;
      c.set(e, (c.get(e) ?? 0) + 1);
    }
    const heavy = (c.get(list[2]!.key) ?? 0) / keys.length;
    assert.ok(heavy > 0.4 && heavy < 0.6, `weight-2 share ${heavy}`);
    for (const e of list.slice(0, 2)) {
      const s = (c.get(e.key) ?? 0) / keys.length;
      assert.ok(s > 0.17 && s < 0.33, `weight-1 share ${s}`);
    }
  });

  it('moves only the removed endpoint’s keys when one leaves, ~1/N when one joins', () => {
    const five = eps(1, 1, 1, 1, 1);
    const ch = new ConsistentHashBalancer<E>();
    ch.rebuild(five);
    const before = mapping(ch, five);
    const four = five.slice(0, 4);
    ch.rebuild(four);
    const after = mapping(ch, four);
    let moved = 0;
    for (const k of keys) {
      if (before.get(k) !== after.get(k)) {
        moved++;
        assert.equal(before.get(k), five[4]!.key, 'only keys of the removed endpoint move');
      }
    }
    assert.ok(moved / keys.length < 0.3 && moved > 0, `moved ${moved}`);

    const six = [...five, { key: '10.0.0.6:80', weight: 1, active: 0 }];
    ch.rebuild(six);
    const grown = mapping(ch, six);
    let movedIn = 0;
    for (const k of keys) {
      if (before.get(k) !== grown.get(k)) {
        movedIn++;
        assert.equal(grown.get(k), '10.0.0.6:80', 'keys only move to the new endpoint');
      }
    }
    const frac = movedIn / keys.length;
    assert.ok(frac > 0.1 && frac < 0.25, `moved ${frac} (expected ~1/6)`);
  });

  it('skips unavailable endpoints without remapping the other keys', () => {
    const list = eps(1, 1, 1);
    const ch = new ConsistentHashBalancer<E>();
    ch.rebuild(list);
    const before = mapping(ch, list);
    const available = [list[0]!, list[2]!];
    for (const k of keys.slice(0, 2000)) {
      const now = ch.pick(available, k, undefined).key;
      if (before.get(k) !== list[1]!.key) assert.equal(now, before.get(k));
      else assert.notEqual(now, list[1]!.key);
    }
    // excluded (a retry) goes elsewhere
    const first = ch.pick(list, 'k', undefined);
    assert.notEqual(ch.pick(list, 'k', new Set([first])), first);
  });
});
