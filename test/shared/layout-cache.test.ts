/**
 * Stages find a point's state by its position in the device's batch (src/shared/layout-cache.ts).
 * Whatever the layout does from batch to batch (the same order, points reordered, added,
 * dropped, one name twice, another device's batch in between), the result must be what a lookup
 * by name gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollupEngine } from '../../src/aggregate/rollup-engine.js';
import { LatestValues } from '../../src/control-room/latest.js';
import type { Reading } from '../../src/shared/reading.js';
import { LiveValues } from '../../src/sinks/live-values.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NAMES = ['a', 'b', 'c', 'd', 'e'];

/** Batches of devices d1 and d2, one per second, each with a random selection and order of points. */
const batches = fc.array(
  fc.record({
    device: fc.constantFrom('d1', 'd2'),
    points: fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 7 }),
    value: fc.integer({ min: -50, max: 50 }),
  }),
  { minLength: 1, maxLength: 60 },
);

const readingsOf = (b: { device: string; points: string[]; value: number }, i: number): Reading[] =>
  b.points.map((point, k) => ({ device: b.device, point, value: b.value + k, ts: T0 + i * 1000, quality: 'good' }));

describe('state found by position in the batch', () => {
  it('rollups: addBatch gives exactly what add() per reading gives', () => {
    fc.assert(
      fc.property(batches, (bs) => {
        const opts = { windows: [60_000, 300_000], grace: 5000, timezone: 'UTC', startedAt: T0 };
        const byBatch = new RollupEngine(opts);
        const byName = new RollupEngine(opts);
        bs.forEach((b, i) => {
          const rs = readingsOf(b, i);
          byBatch.addBatch(b.device, rs, T0 + i * 1000);
          for (const r of rs) byName.add(r, T0 + i * 1000);
        });
        const end = T0 + bs.length * 1000 + 600_000;
        expect(byBatch.close(end)).toEqual(byName.close(end));
      }),
      { numRuns: 200 },
    );
  });

  it('latest values and live values: the newest value of every point, whatever the layout', () => {
    fc.assert(
      fc.property(batches, (bs) => {
        const latest = new LatestValues();
        const live = new LiveValues('a');
        const expected = new Map<string, number>();
        bs.forEach((b, i) => {
          const readings = readingsOf(b, i);
          latest.accept({ device: b.device, ts: T0 + i * 1000, readings });
          live.update({ device: b.device, ts: T0 + i * 1000, readings });
          for (const r of readings) expected.set(`${r.device}/${r.point}`, r.value);
        });
        for (const [key, value] of expected) {
          const [device, point] = key.split('/') as [string, string];
          expect(latest.get(device, point)?.value).toBe(value);
        }
        for (const device of ['d1', 'd2']) {
          const payload = live.take(device, true, 0);
          const mine = [...expected].filter(([k]) => k.startsWith(`${device}/`));
          if (mine.length === 0) continue;
          const points = JSON.parse(payload!).points as Record<string, { value: number }>;
          expect(Object.fromEntries(Object.entries(points).map(([p, v]) => [`${device}/${p}`, v.value]))).toEqual(
            Object.fromEntries(mine),
          );
        }
      }),
      { numRuns: 200 },
    );
  });
});
