/**
 * Issue 14.1 and 14.2: a score means what it says on data the detectors never saw, and rare
 * events stay ranked. For every generator of normal behaviour (generators.ts: Gaussian and
 * heavy-tailed noise, lognormal values, bursty and sparse counts, a mean-reverting walk, a coarse
 * transmitter, sample-and-hold, daily and weekly cycles with steps, irregular sampling with gaps),
 * fast-check draws seeds and lengths; pooled over the series, after the burn-in (the warm-up, then
 * the detector's memory's worth of history, and two periods of a periodic pattern), the share of
 * rows scoring ≥ s must stay within 3× of what the score promises (pOf(s)) at s = 0.5 and 0.67
 * (the default alarm threshold), and no more than 0.1 % of rows may share the top score. Young
 * points (between the warm-up and the burn-in) are over-confident on clustered data; the README
 * states by how much (`npm run eval:calibration` measures it).
 * `npm run eval:calibration` prints the same measurement as a table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BaselineDetector } from '../../src/detect/baseline.js';
import { pOf, scoreOf } from '../../src/detect/calibrate.js';
import { LEVELS, emptyTally, tallySeries } from './calibration-run.js';
import { GENERATORS } from './generators.js';
import { gaussian, prng, T0 } from './synthetic.js';

// A fixed seed keeps CI reproducible; HALFWEG_FC_SEED explores others.
const fcSeed = Number(process.env.HALFWEG_FC_SEED ?? 20261202);
const ROWS = 500_000;

describe('issue 14.1: calibrated scores on normal behaviour of every shape', () => {
  for (const g of GENERATORS) {
    it(`${g.name} (${g.about}): rows ≥ 0.5 and ≥ 0.67 within 3× of the promise, no pile-up at the top`, {
      timeout: 120_000,
    }, () => {
      // Seeds and lengths from fast-check; series are pooled until 500,000 rows are judged, so
      // that at the 0.67 level (one row in 10,000) about 50 rows are expected and a single long
      // excursion of a clustered series cannot decide the verdict alone.
      const runs = fc.array(
        fc.record({ seed: fc.integer({ min: 1, max: 1_000_000 }), size: fc.double({ min: 0, max: 1, noNaN: true }) }),
        { minLength: 80, maxLength: 80 },
      );
      fc.assert(
        fc.property(runs, (series) => {
          const t = emptyTally();
          for (const s of series) {
            tallySeries(g.make(s.seed, s.size), t);
            if (t.rows >= ROWS) break;
          }
          LEVELS.forEach((level, i) => {
            expect(t.above[i]! / t.rows, `share of rows ≥ ${level}`).toBeLessThanOrEqual(3 * pOf(level));
          });
          expect(t.ones, 'rows scoring exactly 1').toBe(0);
          expect(t.atMax / t.rows, 'rows tied at the top score').toBeLessThanOrEqual(0.001);
        }),
        // No shrinking: a smaller counterexample says nothing more about a rate, and costs minutes.
        { numRuns: 1, seed: fcSeed, endOnFailure: true },
      );
    });
  }
});

describe('issue 14.2: no saturation', () => {
  it('gives distinct scores below 1 to a one-in-10⁶ and a one-in-10¹² event, and keeps 0.5 and 0.67 where they were', () => {
    expect(scoreOf(1e-3)).toBeCloseTo(0.5, 9);
    expect(scoreOf(1e-4)).toBeCloseTo(0.667, 3);
    const s6 = scoreOf(1e-6);
    const s12 = scoreOf(1e-12);
    const s100 = scoreOf(1e-100);
    expect(s6).toBeLessThan(s12);
    expect(s12).toBeLessThan(s100);
    expect(s100).toBeLessThan(1);
    expect(s12 - s6).toBeGreaterThan(0.05);
    for (const p of [1e-2, 1e-5, 1e-9, 1e-30]) expect(pOf(scoreOf(p)) / p).toBeCloseTo(1, 6);
  });

  it('ranks a 10 σ, a 30 σ and a 1,000 σ spike in that order, all below 1', () => {
    const scoreOfSpike = (size: number) => {
      const g = gaussian(prng(5));
      const d = new BaselineDetector();
      for (let i = 0; i < 3000; i++) d.update(T0 + i * 1000, 10 + g(), 'good');
      return d.update(T0 + 3000 * 1000, 10 + size, 'good')!.score;
    };
    const [a, b, c] = [10, 30, 1000].map(scoreOfSpike) as [number, number, number];
    expect(a).toBeGreaterThan(0.67);
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    expect(c).toBeLessThan(1);
  });
});
