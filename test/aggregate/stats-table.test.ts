import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PointStats, StatsTable } from '../../src/aggregate/point-stats.js';
import { SketchMapping, keyOf } from '../../src/aggregate/sketch.js';

/**
 * Issue 15: an open window keeps its points' statistics as rows of one table. Rows must not
 * share anything: a row fed interleaved with others answers exactly what a PointStats of its own
 * answers, whatever the values (any finite double, bad readings, out-of-order timestamps), and
 * however the table grew past its first capacity.
 */
const m = new SketchMapping(0.01);
const reading = fc.record({
  row: fc.integer({ min: 0, max: 40 }),
  v: fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.double({ min: -1000, max: 1000, noNaN: true }),
    fc.constant(0),
  ),
  dt: fc.integer({ min: -5000, max: 60_000 }),
  good: fc.boolean(),
});

describe('StatsTable: one row per point, as if each had its own PointStats', () => {
  it('interleaved rows answer bit for bit what separate PointStats answer, and save what they save', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 400 }), fc.integer({ min: 1, max: 8 }), (rs, capacity) => {
        const table = new StatsTable(m, undefined, capacity);
        const alone = new Map<number, PointStats>();
        let ts = 1_700_000_000_000;
        for (const r of rs) {
          ts += r.dt;
          table.ensure(r.row);
          let p = alone.get(r.row);
          if (!p) alone.set(r.row, (p = new PointStats(m)));
          if (r.good) {
            table.addGood(r.row, r.v, ts, keyOf(m, r.v));
            p.addGood(r.v, ts, keyOf(m, r.v));
          } else {
            table.addBad(r.row);
            p.addBad();
          }
        }
        for (const [row, p] of alone) {
          expect(table.summary(row, ts + 1000)).toEqual(p.summary(ts + 1000));
          expect(table.save(row)).toEqual(p.save());
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a row loaded from a saved state and merged with the next window answers what one PointStats does', () => {
    const a = new PointStats(m);
    const b = new PointStats(m);
    const table = new StatsTable(m, undefined, 1);
    const next = new StatsTable(m, undefined, 1);
    for (let i = 0; i < 120; i++) {
      const v = Math.sin(i / 9) * 50 - 10;
      if (i < 60) a.addGood(v, i * 1000);
      else b.addGood(v, i * 1000);
    }
    table.ensure(5);
    next.ensure(3);
    expect(table.load(5, a.save())).toBe(true);
    expect(next.load(3, b.save())).toBe(true);
    table.mergeNext(5, next, 3, 60_000);
    a.mergeNext(b, 60_000);
    expect(table.summary(5, 120_000)).toEqual(a.summary(120_000));
    // The rows around it were never touched.
    expect(table.summary(4, 120_000).count).toBe(0);
  });

  it('counts readings past 65,535 exactly, and refuses a saved state with more than a window can count (2^32)', () => {
    const table = new StatsTable(m, undefined, 1);
    table.ensure(2);
    for (let i = 0; i < 70_000; i++) table.addBad(2);
    table.addGood(2, 1.5, 0);
    expect(table.summary(2, 1000)).toMatchObject({ count: 70_001, good: 1, bad: 70_000 });
    const saved = table.save(2);
    expect(saved).toMatchObject({ good: 1, bad: 70_000 });
    expect(table.load(1, { ...saved, bad: 2 ** 32 })).toBe(false);
    expect(table.count(1)).toBe(0);
    expect(table.load(1, saved)).toBe(true);
    expect(table.summary(1, 1000)).toEqual(table.summary(2, 1000));
  });
});
