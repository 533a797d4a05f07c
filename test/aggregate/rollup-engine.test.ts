import { describe, expect, it } from 'vitest';
import { RollupEngine, type ClosedWindow } from '../../src/aggregate/rollup-engine.js';
import type { Quality, Reading } from '../../src/shared/reading.js';

const M = 60_000;
const H = 3_600_000;
const T0 = Date.parse('2025-01-01T10:00:00Z');
const r = (ts: number, value: number, point = 'p', quality: Quality = 'good', device = 'd'): Reading => ({
  device,
  point,
  value,
  ts,
  quality,
});

function engine(windows = [M], grace = 10_000, tz = 'UTC', startedAt = -Infinity): RollupEngine {
  return new RollupEngine({ windows, grace, timezone: tz, startedAt });
}
const row = (w: ClosedWindow, point = 'p') => w.rows.find((x) => x.point === point)!;

describe('rollup engine', () => {
  it('closes a window at end + grace, not before; boundary readings go to the later window', () => {
    const e = engine();
    e.add(r(T0, 1), T0);
    e.add(r(T0 + 59_999, 3), T0 + 59_999);
    e.add(r(T0 + M, 100), T0 + M); // exactly at the boundary: next window
    expect(e.close(T0 + M + 9_999)).toEqual([]);
    const [w] = e.close(T0 + M + 10_000);
    expect(w).toMatchObject({ window: '1m', start: T0, end: T0 + M, partial: false });
    expect(row(w!)).toMatchObject({ count: 2, good: 2, min: 1, max: 3, last: 3, late: 0 });
  });

  it('only good readings enter the statistics; bad ones are counted', () => {
    const e = engine();
    e.add(r(T0, 10), T0);
    e.add(r(T0 + 1000, 1e9, 'p', 'out-of-range'), T0);
    e.add(r(T0 + 2000, Number.NaN, 'p', 'timeout'), T0);
    e.add(r(T0 + 3000, 20), T0);
    const [w] = e.close(T0 + 2 * M);
    expect(row(w!)).toMatchObject({ count: 4, good: 2, bad: 2, min: 10, max: 20, mean: 15, last: 20 });
    expect(row(w!).p99).toBeLessThan(20 * 1.01);
  });

  it('a reading for a closed window is late: counted in the next emitted window of that length, not merged; never emitted twice', () => {
    const e = engine([M, 15 * M]);
    e.add(r(T0 + 5000, 1), T0 + 5000);
    const first = e.close(T0 + M + 10_000);
    expect(first.map((w) => w.window)).toEqual(['1m']);
    e.add(r(T0 + 30_000, 999), T0 + M + 20_000); // late for 1m, still on time for 15m
    e.add(r(T0 + M + 30_000, 2), T0 + M + 30_000);
    const second = e.close(T0 + 2 * M + 10_000);
    expect(second).toHaveLength(1);
    expect(second[0]!.start).toBe(T0 + M);
    expect(row(second[0]!)).toMatchObject({ count: 1, late: 1, max: 2 });
    const quarter = e.close(T0 + 15 * M + 10_000).find((w) => w.window === '15m')!;
    expect(row(quarter)).toMatchObject({ count: 3, late: 0, max: 999 });
  });

  it('late readings of a point without readings in the next window still reach it (late-only row)', () => {
    const e = engine();
    e.add(r(T0 + 1000, 1, 'a'), T0);
    e.close(T0 + M + 10_000);
    e.add(r(T0 + 2000, 1, 'b'), T0 + M + 11_000); // late
    e.add(r(T0 + M + 1000, 5, 'a'), T0 + M + 11_000);
    const [w] = e.close(T0 + 2 * M + 10_000);
    expect(row(w!, 'b')).toMatchObject({ count: 0, late: 1, mean: null });
  });

  it('clock jump forward: everything before the jump closes at the next tick, with what it had', () => {
    const e = engine([M, H]);
    e.add(r(T0 + 1000, 1), T0 + 1000);
    const out = e.close(T0 + 3 * H);
    expect(out.map((w) => [w.window, w.start])).toEqual([
      ['1m', T0],
      ['1h', T0],
    ]);
    e.add(r(T0 + 3 * H, 7), T0 + 3 * H);
    expect(e.close(T0 + 3 * H + M + 10_000)[0]).toMatchObject({ start: T0 + 3 * H });
  });

  it('clock jump backward by more than the grace: open windows close at once; readings for closed windows are late until the clock catches up', () => {
    const e = engine([M]);
    e.add(r(T0 + 30_000, 1), T0 + 30_000);
    e.close(T0 + 40_000);
    const back = T0 - H; // NTP sets the clock back one hour
    const out = e.close(back);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ start: T0, partial: true });
    expect(e.counters.backwardJumps).toBe(1);
    e.add(r(T0 + 10_000, 2), back + H + 10_000); // the old window again: late
    e.add(r(back + 1000, 3), back + 1000); // stamped by the new clock, before the closed horizon: late too
    expect(e.close(back + M + 10_000)).toEqual([]);
    // Not a second emission of [T0, T0+1m): the late reading shows up as `late` in a later window.
    e.add(r(T0 + M + 1000, 4), T0 + M + 1000);
    const later = e.close(T0 + 2 * M + 10_000);
    expect(later.map((w) => w.start)).toEqual([T0 + M]);
    expect(row(later[0]!).late).toBe(2);
  });

  it('a small backward step (within the grace) changes nothing', () => {
    const e = engine();
    e.add(r(T0 + 30_000, 1), T0 + 30_000);
    expect(e.close(T0 + 25_000)).toEqual([]);
    expect(e.counters.backwardJumps).toBe(0);
  });

  it('readings more than the grace ahead of the agent clock are late (bounded open windows)', () => {
    const e = engine();
    e.add(r(T0 + 10 * H, 1), T0);
    expect(e.counters.late).toBe(1);
    expect(e.memory().openStats).toBe(0);
  });

  it('windows that began before aggregation started are flagged partial', () => {
    const e = engine([M], 10_000, 'UTC', T0 + 30_000);
    e.add(r(T0 + 31_000, 1), T0 + 31_000);
    expect(e.close(T0 + 2 * M)[0]!.partial).toBe(true);
  });

  it('restored horizon: after a restart no window at or before it is emitted again', () => {
    const e = engine();
    e.setClosedUntil(M, T0 + M);
    e.add(r(T0 + 1000, 1), T0 + M + 1000);
    expect(e.close(T0 + 2 * M)).toEqual([]);
    expect(e.counters.late).toBe(1);
  });

  it('drain emits windows that have ended; discard drops the running ones', () => {
    const e = engine();
    e.add(r(T0 + 1000, 1), T0 + 1000);
    e.add(r(T0 + M + 1000, 2), T0 + M + 1000);
    const out = e.drain(T0 + M + 2000);
    expect(out.map((w) => w.start)).toEqual([T0]);
    expect(e.discard()).toBe(1);
    expect(e.counters.windowsDropped).toBe(1);
  });

  it('1 h windows across Amsterdam DST: one window per real hour (23 and 25 of them), each closed once', () => {
    for (const [from, hours] of [
      ['2025-03-29T23:00:00Z', 23],
      ['2025-10-25T22:00:00Z', 25],
    ] as const) {
      const e = engine([H, 86_400_000], 10_000, 'Europe/Amsterdam');
      const start = Date.parse(from);
      const closed: ClosedWindow[] = [];
      for (let t = start; t < start + hours * H; t += M) {
        e.add(r(t, 1), t);
        closed.push(...e.close(t));
      }
      closed.push(...e.close(start + hours * H + 10_000));
      const hourly = closed.filter((w) => w.window === '1h');
      expect(hourly).toHaveLength(hours);
      expect(new Set(hourly.map((w) => w.start)).size).toBe(hours);
      for (const w of hourly) expect(w.end - w.start).toBe(H);
      const daily = closed.filter((w) => w.window === '1d');
      expect(daily).toHaveLength(1);
      expect(daily[0]).toMatchObject({ start, end: start + hours * H });
      expect(daily[0]!.rows[0]!.count).toBe(hours * 60);
    }
  });

  it('bounded memory per point whatever the rate: one statistics object per open window, sketches stay small', () => {
    const e = engine([M, 15 * M, H]);
    const points = 20;
    let peak = 0;
    for (let t = T0; t < T0 + 2 * H; t += 50) {
      // 20 Hz per point
      for (let p = 0; p < points; p++) e.add(r(t, 100 + Math.sin(t / 1000 + p) * 5, `p${p}`), t);
      if (t % 1000 === 0) {
        e.close(t);
        const m = e.memory();
        peak = Math.max(peak, m.openStats);
      }
    }
    const m = e.memory();
    // per point and window length: one open window, plus one in its grace period
    expect(peak).toBeLessThanOrEqual(points * 3 * 2);
    expect(m.sketchBytes / points).toBeLessThan(3 * 2 * 2 * 2048 * 4);
  });
});
