import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PointStats, type PointSummary } from '../../src/aggregate/point-stats.js';
import { RollupEngine } from '../../src/aggregate/rollup-engine.js';
import { rollupPayload, rollupRows } from '../../src/aggregate/rollup-record.js';
import { QuantileSketch, SketchMapping } from '../../src/aggregate/sketch.js';

/**
 * Issue 16.5: rollup statistics that cannot be true. A constant ±DBL_MAX gave a null time-weighted
 * mean and null quantiles (overflow), and on the demo the quantiles, rounded to 4 digits, exceeded
 * the window's maximum (burner_hours min = max = 15409, p50 15410). The promise, checked over any
 * finite input: every statistic is finite, mean, twMean, last and the quantiles lie in
 * [min, max], and the standard deviation in [0, (max − min) / 2]; in the summary and in the record
 * as it is sent.
 */
const mapping = new SketchMapping(0.01);
const W = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');

/** Any finite double, the extremes (±DBL_MAX, ±MIN_VALUE, −0) included by fast-check's bias. */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const readings = fc.array(fc.tuple(fc.integer({ min: 0, max: W - 1 }), finite), { minLength: 1, maxLength: 120 });

type Stats = Pick<PointSummary, 'min' | 'max' | 'mean' | 'twMean' | 'last' | 'stddev' | 'p50' | 'p95' | 'p99'>;

function expectTrue(s: Stats, values: readonly number[]): void {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  // (+ 0: JSON sends −0 as 0.)
  expect(s.min! + 0).toBe(lo + 0);
  expect(s.max! + 0).toBe(hi + 0);
  for (const k of ['mean', 'twMean', 'last', 'p50', 'p95', 'p99'] as const) {
    const v = s[k];
    expect(Number.isFinite(v), `${k} = ${v}`).toBe(true);
    expect(v!, k).toBeGreaterThanOrEqual(lo);
    expect(v!, k).toBeLessThanOrEqual(hi);
  }
  expect(Number.isFinite(s.stddev), `stddev = ${s.stddev}`).toBe(true);
  expect(s.stddev!).toBeGreaterThanOrEqual(0);
  expect(s.stddev!).toBeLessThanOrEqual(hi / 2 - lo / 2);
}

function summarise(pts: readonly (readonly [number, number])[]): PointSummary {
  const s = new PointStats(mapping);
  for (const [t, v] of [...pts].sort((a, b) => a[0] - b[0])) s.addGood(v, T0 + t);
  return s.summary(T0 + W);
}

/** The record as sent: through the engine, closed, made a payload, read back by its header. */
function sent(pts: readonly (readonly [number, number])[]): Stats {
  const e = new RollupEngine({ windows: [W], grace: 1000, timezone: 'UTC' });
  for (const [t, v] of pts) e.add({ device: 'd', point: 'p', value: v, ts: T0 + t, quality: 'good' }, T0 + t);
  const [w] = e.close(T0 + 2 * W);
  const payload = JSON.parse(JSON.stringify(rollupPayload(w!, 'UTC', 0.01))) as ReturnType<typeof rollupPayload>;
  return rollupRows(payload)[0]!;
}

describe('issue 16.5: rollup statistics are finite and within [min, max] for any finite input', () => {
  it('issue 16.5: a constant ±DBL_MAX gives that constant for every statistic, in the summary and as sent', () => {
    for (const c of [Number.MAX_VALUE, -Number.MAX_VALUE]) {
      const pts = Array.from({ length: 60 }, (_, i) => [i * 1000, c] as const);
      for (const s of [summarise(pts), sent(pts)]) {
        expect(s).toMatchObject({ min: c, max: c, mean: c, twMean: c, last: c, stddev: 0, p50: c, p95: c, p99: c });
      }
    }
  });

  it('issue 16.5: ±DBL_MAX together: mean and twMean finite, stddev at most half the range', () => {
    const pts = Array.from({ length: 60 }, (_, i) => [i * 1000, i % 2 ? Number.MAX_VALUE : -Number.MAX_VALUE] as const);
    const values = pts.map((p) => p[1]);
    expectTrue(summarise(pts), values);
    expectTrue(sent(pts), values);
    expect(summarise(pts).stddev! / Number.MAX_VALUE).toBeCloseTo(1, 12);
  });

  it("issue 16.5: quantiles rounded for sending never pass the maximum (the demo's burner_hours and drum_pressure)", () => {
    const hours = sent(Array.from({ length: 60 }, (_, i) => [i * 1000, 15409] as const));
    expect(hours).toMatchObject({ min: 15409, max: 15409, p50: 15409, p95: 15409, p99: 15409 });
    const drum = sent(Array.from({ length: 60 }, (_, i) => [i * 1000, 10.0566 - (i % 3) * 1e-4] as const));
    expect(drum.max).toBe(10.0566);
    for (const q of [drum.p50, drum.p95, drum.p99]) expect(q!).toBeLessThanOrEqual(10.0566);
  });

  it('issue 16.5: property: any finite readings give true statistics (summary and record as sent)', () => {
    fc.assert(
      fc.property(readings, (pts) => {
        const values = pts.map((p) => p[1]);
        expectTrue(summarise(pts), values);
        expectTrue(sent(pts), values);
      }),
      { numRuns: 500 },
    );
  });

  it('issue 16.5: property: two windows merged (mergeNext) keep the promise', () => {
    fc.assert(
      fc.property(readings, readings, (a, b) => {
        const first = new PointStats(mapping);
        const second = new PointStats(mapping);
        for (const [t, v] of [...a].sort((x, y) => x[0] - y[0])) first.addGood(v, T0 + t);
        for (const [t, v] of [...b].sort((x, y) => x[0] - y[0])) second.addGood(v, T0 + W + t);
        first.mergeNext(second, T0 + W);
        expectTrue(
          first.summary(T0 + 2 * W),
          [...a, ...b].map((p) => p[1]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('issue 16.5: property: the sketch never answers NaN for finite input (at most ±Infinity past 1.8e308, which the summary clamps)', () => {
    fc.assert(
      fc.property(
        fc.array(finite, { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const s = new QuantileSketch(mapping);
          for (const v of values) s.add(v);
          expect(Number.isNaN(s.quantile(q))).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
