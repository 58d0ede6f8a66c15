import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashKeyFor } from '../src/hash-key.ts';
import { backoffDelay, retryPolicyFrom } from '../src/retry-policy.ts';

describe('hashKeyFor', () => {
  it('reads the header, the cookie or the client IP', () => {
    const h = { 'x-user': 'alice', cookie: 'a=1; session="s-42"; b=2' };
    assert.equal(hashKeyFor({ type: 'ConsistentHash', consistentHash: { header: 'X-User' } }, h, '1.2.3.4'), 'alice');
    assert.equal(hashKeyFor({ type: 'ConsistentHash', consistentHash: { cookie: 'session' } }, h, '1.2.3.4'), 's-42');
    assert.equal(hashKeyFor({ type: 'ConsistentHash', consistentHash: { sourceIP: true } }, h, '1.2.3.4'), '1.2.3.4');
    assert.equal(hashKeyFor({ type: 'ConsistentHash', consistentHash: { cookie: 'none' } }, h, '1.2.3.4'), undefined);
    assert.equal(hashKeyFor({ type: 'RoundRobin' }, h, '1.2.3.4'), undefined);
  });
});

describe('retryPolicyFrom', () => {
  it('defaults codes to 502/503/504 and backoff to 25ms', () => {
    const p = retryPolicyFrom({ attempts: 2, nonIdempotent: false, budgetPercent: 20, minRetryConcurrency: 3 });
    assert.deepEqual([...p.codes], [502, 503, 504]);
    assert.equal(p.backoffMs, 25);
    const q = retryPolicyFrom({
      attempts: 1,
      codes: [500],
      backoff: '100ms',
      nonIdempotent: true,
      budgetPercent: 5,
      minRetryConcurrency: 0,
    });
    assert.deepEqual([...q.codes], [500]);
    assert.equal(q.backoffMs, 100);
  });

  it('jitters backoff between half and all of an exponential ceiling capped at 10x', () => {
    assert.equal(
      backoffDelay(25, 1, () => 0),
      12.5,
    );
    assert.equal(
      backoffDelay(25, 1, () => 1),
      25,
    );
    assert.equal(
      backoffDelay(25, 3, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(25, 9, () => 1),
      250,
    );
  });
});
