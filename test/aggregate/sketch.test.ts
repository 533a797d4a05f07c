import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { QuantileSketch, SketchMapping, SketchTable, keyOf } from '../../src/aggregate/sketch.js';

const ALPHA = 0.01;
const QS = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

/** The exact lower quantile the bound is stated against: rank ⌊q·(n−1)⌋ of the sorted values. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function checkBound(values: readonly number[], sketch: QuantileSketch): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QS) {
    const x = exact(sorted, q);
    const got = sketch.quantile(q);
    if (Math.abs(x) < 1e-9) expect(Math.abs(got)).toBeLessThan(1e-9 * (1 + ALPHA));
    else expect(Math.abs(got - x)).toBeLessThanOrEqual(ALPHA * Math.abs(x) * (1 + 1e-6)); // α, up to floating-point rounding at bucket edges;
  }
}

/** Distributions a sensor can produce, built from uniforms so that fast-check can shrink them. */
const u = fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true });
const distributions = {
  uniform: fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 2000 }),
  normal: fc
    .array(fc.tuple(u, u), { minLength: 1, maxLength: 2000 })
    .map((xs) => xs.map(([a, b]) => 70 + 5 * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b))),
  exponential: fc.array(u, { minLength: 1, maxLength: 2000 }).map((xs) => xs.map((a) => -Math.log(a) * 3)),
  // σ = 3: up to 14 decades, inside the 2,048 buckets (17.8 decades) the bound assumes.
  lognormalWide: fc
    .array(fc.tuple(u, u), { minLength: 1, maxLength: 2000 })
    .map((xs) => xs.map(([a, b]) => Math.exp(3 * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b)))),
  aroundZero: fc.array(
    fc.oneof(fc.constant(0), fc.double({ min: -1, max: 1, noNaN: true }), fc.integer({ min: -5, max: 5 })),
    { minLength: 1, maxLength: 500 },
  ),
  constant: fc
    .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 500 }))
    .map(([v, n]) => Array<number>(n).fill(v)),
};

describe('quantile sketch (DDSketch-style, α = 1 %)', () => {
  for (const [name, arb] of Object.entries(distributions)) {
    it(`answers every quantile within α·|x| of the exact one: ${name}`, () => {
      fc.assert(
        fc.property(arb, (values) => {
          const s = new QuantileSketch(new SketchMapping(ALPHA));
          for (const v of values) s.add(v);
          expect(s.count).toBe(values.length);
          checkBound(values, s);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('merges exactly: merge(a, b) answers what one sketch of both inputs answers, within the same bound', () => {
    fc.assert(
      fc.property(distributions.normal, distributions.lognormalWide, (a, b) => {
        const m = new SketchMapping(ALPHA);
        const sa = new QuantileSketch(m);
        const sb = new QuantileSketch(m);
        const all = new QuantileSketch(m);
        for (const v of a) sa.add(v), all.add(v);
        for (const v of b) sb.add(v), all.add(v);
        sa.merge(sb);
        for (const q of QS) expect(sa.quantile(q)).toBe(all.quantile(q));
        checkBound([...a, ...b], sa);
      }),
      { numRuns: 40 },
    );
  });

  it('addKey with a precomputed key is the same as add', () => {
    const m = new SketchMapping(ALPHA);
    const a = new QuantileSketch(m);
    const b = new QuantileSketch(m);
    for (const v of [-3, -0.5, 0, 1e-12, 2, 50, 1e6]) a.add(v), b.addKey(keyOf(m, v));
    for (const q of QS) expect(b.quantile(q)).toBe(a.quantile(q));
  });

  it('holds at most maxBins counters per sign whatever the spread (bounded memory)', () => {
    const s = new QuantileSketch(new SketchMapping(ALPHA), 256);
    for (let e = -9; e <= 12; e += 0.001) s.add(10 ** e);
    expect(s.bytes()).toBeLessThanOrEqual(2 * 256 * 4);
    // Collapsing merges the smallest magnitudes: the high quantiles keep the bound.
    expect(Math.abs(s.quantile(0.99) / 10 ** (-9 + 0.99 * 21) - 1)).toBeLessThan(0.02);
  });

  it('counts past 65,535 in one bucket (16-bit counters widen), by adding, merging, loading and collapsing', () => {
    const m = new SketchMapping(ALPHA);
    const a = new QuantileSketch(m);
    for (let i = 0; i < 70_000; i++) a.add(42);
    a.add(1000);
    expect(a.count).toBe(70_001);
    expect(a.save().pos).toEqual([m.index(42), 70_000, m.index(1000), 1]);
    const b = new QuantileSketch(m);
    for (let i = 0; i < 40_000; i++) b.add(42);
    b.merge(a);
    expect(b.save().pos).toEqual([m.index(42), 110_000, m.index(1000), 1]);
    const c = new QuantileSketch(m);
    c.load(b.save());
    expect(c.quantile(0.5)).toBe(b.quantile(0.5));
    expect(c.quantile(1)).toBe(m.value(m.index(1000)));
    // Four buckets at most: the values of 1 and 1.2 are folded into the lowest bucket kept (40,001),
    // then a new top moves that bucket up onto 1.5's: 80,001 in one bucket, by folding.
    const d = new QuantileSketch(m, 4);
    for (let i = 0; i < 40_000; i++) d.add(1), d.add(1.5);
    d.add(1.2);
    expect(d.save().pos.slice(0, 2)).toEqual([m.index(1.5) - 3, 40_001]);
    d.add(1.5 * m.gamma ** 3);
    expect(d.count).toBe(80_002);
    expect(d.save().pos).toEqual([m.index(1.5), 80_001, m.index(1.5) + 3, 1]);
  });

  it('keeps every row of a table apart however its rows grow, move and widen', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), {
          maxLength: 3000,
        }),
        (adds) => {
          const m = new SketchMapping(ALPHA);
          const table = new SketchTable(m, 2048, 1);
          const alone = Array.from({ length: 10 }, () => [] as number[]);
          table.ensure(10);
          for (const [row, v] of adds) table.add(row, v), alone[row]!.push(v);
          for (let row = 0; row < 10; row++) {
            expect(table.count(row)).toBe(alone[row]!.length);
            const one = new QuantileSketch(m);
            for (const v of alone[row]!) one.add(v);
            expect(table.save(row)).toEqual(one.save());
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is empty-safe', () => {
    expect(new QuantileSketch().quantile(0.5)).toBeNaN();
  });
});
