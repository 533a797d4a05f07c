import { describe, expect, it } from 'vitest';
import { TailCalibrator } from '../../src/detect/calibrate.js';
import { gaussian, prng } from './synthetic.js';

/** z² of standard normal draws: the statistic a well-specified detector sees on normal data. */
function zSquares(n: number, seed: number): number[] {
  const g = gaussian(prng(seed));
  return Array.from({ length: n }, () => g() ** 2);
}

function fed(values: readonly number[]): TailCalibrator {
  const c = new TailCalibrator({ memory: 1e9, minCount: 100 });
  for (const v of values) c.observe(v);
  return c;
}

describe('tail calibrator', () => {
  it('gives conservative p-values for independent values, well past what it has seen', () => {
    const c = fed(zSquares(20_000, 1));
    // True tails: P(z² ≥ 16) = 6.3e-5, P(z² ≥ 25) = 5.7e-7. An exponential tail over χ²₁ is
    // heavier than the truth (never lighter: no false confidence), by a bounded factor.
    expect(c.pValue(16)).toBeGreaterThan(6.3e-5);
    expect(c.pValue(16)).toBeLessThan(6.3e-5 * 20);
    expect(c.pValue(25)).toBeGreaterThan(5.7e-7);
    expect(c.pValue(25)).toBeLessThan(5.7e-7 * 100);
  });

  it('counts episodes, not values: 1,000 values each repeated 20 times weigh like 1,000, not 20,000', () => {
    // A smoothed statistic exceeds its threshold in runs. The predictive tail (Lomax with shape =
    // exceedance episodes) widens when few independent looks stand behind it; an exponential
    // fitted to every value would call the next excursion far rarer than the history can vouch for.
    const base = zSquares(1000, 2);
    const clustered = fed(base.flatMap((v) => Array<number>(20).fill(v)));
    const thousand = fed(base);
    const independent = fed(zSquares(20_000, 3));
    for (const s of [25, 36]) {
      expect(clustered.pValue(s) / thousand.pValue(s)).toBeGreaterThan(1 / 3);
      expect(clustered.pValue(s) / thousand.pValue(s)).toBeLessThan(3);
    }
    expect(clustered.pValue(36)).toBeGreaterThan(10 * independent.pValue(36));
    // Ordinary values are judged by the histogram, the same either way.
    expect(clustered.pValue(1)).toBeCloseTo(independent.pValue(1), 1);
  });

  it('is a proper tail: p falls as the statistic grows, stays in (0, 1], and quantileAbove inverts it', () => {
    const c = fed(zSquares(5000, 4).map((v, i) => (i % 7 === 0 ? v * 3 : v)));
    let last = 1;
    for (const s of [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 1e3, 1e5]) {
      const p = c.pValue(s);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThanOrEqual(last);
      last = p;
    }
    for (const p of [1e-3, 1e-6, 1e-9]) expect(c.pValue(c.quantileAbove(p)) / p).toBeCloseTo(1, 6);
  });

  it('gives no p-value before minCount observations', () => {
    const c = new TailCalibrator({ memory: 1000, minCount: 50 });
    for (const v of zSquares(49, 5)) c.observe(v);
    expect(c.pValue(100)).toBe(1);
    c.observe(1);
    expect(c.pValue(100)).toBeLessThan(1);
  });
});
