import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/shared/backoff.js';

describe('capped exponential backoff with jitter', () => {
  const policy = { initial: 1000, max: 60_000 };
  it('doubles from initial and stops at max', () => {
    const top = () => 1; // the upper end of the jitter window is the nominal delay
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(policy, n, top))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });
  it('never comes back sooner than half the nominal delay', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(2000);
  });
  it('waits nothing before the first failure', () => expect(backoffDelay(policy, 0)).toBe(0));
});
