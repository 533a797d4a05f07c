import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PointStats } from '../../src/aggregate/point-stats.js';
import { SketchMapping } from '../../src/aggregate/sketch.js';

const m = new SketchMapping(0.01);

describe('point statistics', () => {
  it('time-weighted mean, hand-computed: each good value holds until the next good reading or the window end', () => {
    // Window [0, 60 s). 10 @ 0 s holds 30 s, 20 @ 30 s holds 15 s, 40 @ 45 s holds 15 s to the end.
    const s = new PointStats(m);
    s.addGood(10, 0);
    s.addGood(20, 30_000);
    s.addBad(); // a timeout at 40 s: counted, and 20 keeps holding
    s.addGood(40, 45_000);
    const r = s.summary(60_000);
    expect(r.twMean).toBeCloseTo((10 * 30 + 20 * 15 + 40 * 15) / 60, 12); // 20
    expect(r.mean).toBeCloseTo(70 / 3, 12);
    expect(r).toMatchObject({ count: 4, good: 3, bad: 1, min: 10, max: 40, last: 40 });
    expect(r.stddev).toBeCloseTo(Math.sqrt(((10 - 70 / 3) ** 2 + (20 - 70 / 3) ** 2 + (40 - 70 / 3) ** 2) / 3), 12);
  });

  it('quantiles of a constant series are that constant (clamped to the exact min and max)', () => {
    const s = new PointStats(m);
    for (let i = 0; i < 60; i++) s.addGood(14450, i * 1000);
    expect(s.summary(60_000)).toMatchObject({ p50: 14450, p95: 14450, p99: 14450 });
  });

  it('time before the first good reading is not covered', () => {
    const s = new PointStats(m);
    s.addGood(5, 40_000); // holds 20 s
    s.addGood(11, 50_000); // holds 10 s
    expect(s.summary(60_000).twMean).toBeCloseTo((5 * 10 + 11 * 10) / 20, 12);
  });

  it('only bad readings: counts only, no statistics', () => {
    const s = new PointStats(m);
    s.addBad();
    s.addBad();
    expect(s.summary(60_000)).toMatchObject({
      count: 2,
      good: 0,
      bad: 2,
      min: null,
      mean: null,
      twMean: null,
      p50: null,
    });
  });

  it('mergeNext of two adjacent windows equals one accumulator over both (Welford/Chan, tw-mean, sketch)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 119_999 }), fc.double({ min: -100, max: 100, noNaN: true })), {
          minLength: 1,
          maxLength: 200,
        }),
        (pts) => {
          const sorted = [...pts].sort((a, b) => a[0] - b[0]);
          const whole = new PointStats(m);
          const a = new PointStats(m);
          const b = new PointStats(m);
          for (const [t, v] of sorted) {
            whole.addGood(v, t);
            (t < 60_000 ? a : b).addGood(v, t);
          }
          a.mergeNext(b, 60_000);
          const x = a.summary(120_000);
          const y = whole.summary(120_000);
          for (const k of ['count', 'good', 'min', 'max', 'last', 'p50', 'p95', 'p99'] as const)
            expect(x[k]).toBe(y[k]);
          for (const k of ['mean', 'twMean', 'stddev'] as const) expect(x[k]!).toBeCloseTo(y[k]!, 6);
        },
      ),
      { numRuns: 100 },
    );
  });
});
