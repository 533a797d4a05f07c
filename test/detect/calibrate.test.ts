import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TailCalibrator, binOf, binOfByLog } from '../../src/detect/calibrate.js';
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

/** The double `k` steps of one unit in the last place away from `x` (x > 0). */
function ulpsAway(x: number, k: number): number {
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] = i[0]! + BigInt(k);
  return f[0]!;
}

describe('the histogram bin of a value (binOf, without a logarithm)', () => {
  it('is the logarithm formula’s bin at and around every edge, to the last unit', () => {
    for (let b = 1; b < 64; b++) {
      // Edge b as the formula's constants put it (the double nearest exp(ln LO + (b - 1) STEP)).
      const edge = Math.exp(Math.log(1e-4) + ((b - 1) * (Math.log(1e8) - Math.log(1e-4))) / 62);
      for (let k = -300; k <= 300; k++) {
        const x = ulpsAway(edge, k);
        expect(binOf(x), `${x} (edge ${b} ${k > 0 ? '+' : ''}${k} ulp)`).toBe(binOfByLog(x));
      }
      for (const rel of [1e-13, 1e-12, 1e-11, 1e-10, 1e-6, 0.01, 0.3]) {
        expect(binOf(edge * (1 + rel))).toBe(binOfByLog(edge * (1 + rel)));
        expect(binOf(edge * (1 - rel))).toBe(binOfByLog(edge * (1 - rel)));
      }
    }
  });

  it('is the formula’s bin for any value, tiny, huge, negative or not a number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: false }), (x) => {
        expect(binOf(x)).toBe(binOfByLog(x));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.double({ min: 1e-5, max: 1e9, noNaN: true }), (x) => {
        expect(binOf(x)).toBe(binOfByLog(x));
      }),
      { numRuns: 20_000 },
    );
    for (const x of [0, -0, 1e-4, 1e8, 2 ** -14, 2 ** 26, Number.MIN_VALUE, Number.MAX_VALUE, Infinity, -1, NaN])
      expect(binOf(x)).toBe(binOfByLog(x));
  });
});

describe('decades with an ordinary bound', () => {
  it('is the exact figure, or 0 only where the exact figure says the value is at least that ordinary', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.double({ min: 0.1, max: 4, noNaN: true }),
        fc.constantFrom(0.05, 0.25, 0.5),
        (seed, n, spread, ordinary) => {
          // A statistic's history (z² of a Gaussian, powered to vary the tail), and values from
          // the same source: most of them inside the histogram, where the bound decides.
          const g = gaussian(prng(seed));
          const draw = () => Math.abs(g()) ** (2 * spread);
          const c = new TailCalibrator({ memory: 1000, minCount: 20 });
          for (let i = 0; i < n; i++) c.observe(draw());
          for (let i = 0; i < 20; i++) {
            const x = draw();
            const exact = c.decades(x);
            const bounded = c.decades(x, ordinary);
            if (bounded === 0) expect(exact).toBeLessThanOrEqual(-Math.log10(ordinary) + 1e-12);
            else expect(bounded).toBe(exact);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('skips the exact figure for most values of a calibrated statistic', () => {
    const g = gaussian(prng(7));
    const c = new TailCalibrator({ memory: 2000, minCount: 100 });
    for (let i = 0; i < 4000; i++) c.observe(g() ** 2);
    let skipped = 0;
    for (let i = 0; i < 1000; i++) {
      const z2 = g() ** 2;
      if (c.decades(z2, 0.25) === 0 && c.decades(z2) > 0) skipped++;
    }
    // P(z² ≥ x) ≥ 0.25 for about three quarters of the values, less the bins straddling it.
    expect(skipped).toBeGreaterThan(500);
  });
});
