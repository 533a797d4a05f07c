import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RollupEngine } from '../../src/aggregate/rollup-engine.js';
import { rollupRows, type RollupPayload } from '../../src/aggregate/rollup-record.js';
import { RollupStage } from '../../src/aggregate/rollup-stage.js';
import { MemoryState } from '../../src/store/state-store.js';
import { silentLogger } from '../../src/ops/log.js';
import type { Reading, ReadingBatch } from '../../src/shared/reading.js';
import type { NewRecord } from '../../src/store/records.js';
import type { CommitResult } from '../../src/store/store.js';

/**
 * Issue 16.4: an agent that restarts more often than a rollup window is long never emitted an
 * aggregate (29 restarts in 6 minutes: none), because the open windows were dropped at every
 * stop. They are now saved at stop and restored at start; a crash loses the window in progress
 * and the record says so (`partial`).
 */
const M = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00Z');

function fakeStore() {
  const records: NewRecord[] = [];
  return {
    records,
    commit: async (r: NewRecord): Promise<CommitResult> => (records.push(r), { ok: true, seq: records.length }),
  };
}
const rollups = (records: NewRecord[]) =>
  records.flatMap((r) =>
    r.type === 'aggregate' && r.aggregate.kind === 'rollup' ? [r.aggregate as RollupPayload] : [],
  );
const batch = (ts: number, value: number): ReadingBatch => ({
  device: 'boiler',
  ts,
  readings: [{ device: 'boiler', point: 'p', value, ts, quality: 'good' }],
});

describe('issue 16.4: open rollup windows survive a restart', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const stageOn = (
    store: ReturnType<typeof fakeStore>,
    state: MemoryState,
    openWindows: MemoryState | undefined,
    windows = [M],
  ) =>
    new RollupStage({
      windows,
      grace: 5000,
      accuracy: 0.01,
      maxPoints: 100,
      timezone: 'UTC',
      commit: store.commit,
      state,
      ...(openWindows ? { openWindows } : {}),
      log: silentLogger(),
    });

  it('issue 16.4: 29 restarts in 6 minutes: every minute and the 15-minute window are emitted once, whole, with every reading', async () => {
    vi.setSystemTime(T0);
    const store = fakeStore();
    const state = new MemoryState();
    const open = new MemoryState();
    let sent = 0;
    // A reading a second; the agent stops after ~11 s of every ~12.4 s and is down 1.4 s (< grace).
    for (let run = 0; run < 29; run++) {
      const stage = stageOn(store, state, open, [M, 15 * M]);
      await stage.start();
      for (let s = 0; s < 11; s++) {
        stage.accept(batch(Date.now(), sent++ % 7));
        await vi.advanceTimersByTimeAsync(1000);
      }
      await stage.stop();
      await vi.advanceTimersByTimeAsync(1400);
    }
    // One more run that outlives the 15-minute window's end + grace.
    const last = stageOn(store, state, open, [M, 15 * M]);
    await last.start();
    while (Date.now() < T0 + 15 * M + 6000) {
      if (Date.now() < T0 + 15 * M) last.accept(batch(Date.now(), sent++ % 7));
      await vi.advanceTimersByTimeAsync(1000);
    }
    await last.stop();

    const all = rollups(store.records);
    const minutes = all.filter((p) => p.window === '1m');
    // Every minute of the 15 closed, once each, in order.
    expect(minutes.map((p) => p.start)).toEqual(Array.from({ length: 15 }, (_, i) => T0 + i * M));
    expect(minutes.filter((p) => p.partial).map((p) => (p.start - T0) / M)).toEqual([]);
    const quarter = all.filter((p) => p.window === '15m');
    expect(quarter).toHaveLength(1);
    expect(quarter[0]).toMatchObject({ start: T0, partial: false });
    // Every reading is in its minute and in the quarter, none twice.
    const counted = minutes.reduce((n, p) => n + rollupRows(p)[0]!.count, 0);
    expect(counted).toBe(sent);
    expect(rollupRows(quarter[0]!)[0]).toMatchObject({ count: sent, good: sent, min: 0, max: 6 });
  });

  it('issue 16.4: a crash (no stop) loses the window in progress, and the next record of it says partial', async () => {
    vi.setSystemTime(T0);
    const store = fakeStore();
    const state = new MemoryState();
    const open = new MemoryState();
    const first = stageOn(store, state, open);
    await first.start();
    for (let s = 0; s < 20; s++) {
      first.accept(batch(Date.now(), 1));
      await vi.advanceTimersByTimeAsync(1000);
    }
    // kill -9: no stop(), nothing saved; the dead process's tick stops with it.
    clearInterval((first as unknown as { timer: NodeJS.Timeout }).timer);
    const second = stageOn(store, state, open);
    await second.start();
    while (Date.now() < T0 + M + 6000) {
      if (Date.now() < T0 + M) second.accept(batch(Date.now(), 2));
      await vi.advanceTimersByTimeAsync(1000);
    }
    await second.stop();
    const [w] = rollups(store.records);
    expect(w).toMatchObject({ start: T0, partial: true });
    expect(rollupRows(w!)[0]).toMatchObject({ count: 40, min: 2, max: 2 }); // the first 20 s are gone
  });

  it('issue 16.4: a restored window is partial when the agent was down longer than the grace', async () => {
    vi.setSystemTime(T0);
    const store = fakeStore();
    const state = new MemoryState();
    const open = new MemoryState();
    const first = stageOn(store, state, open);
    await first.start();
    first.accept(batch(T0 + 1000, 1));
    await vi.advanceTimersByTimeAsync(10_000);
    await first.stop();
    await vi.advanceTimersByTimeAsync(20_000); // down 20 s, grace 5 s
    const second = stageOn(store, state, open);
    await second.start();
    second.accept(batch(Date.now(), 3));
    await vi.advanceTimersByTimeAsync(M);
    await second.stop();
    const [w] = rollups(store.records);
    expect(w).toMatchObject({ start: T0, partial: true });
    expect(rollupRows(w!)[0]).toMatchObject({ count: 2, min: 1, max: 3 });
  });

  it('issue 16.4: saved and restored through JSON, a window gives the statistics of one uninterrupted run', () => {
    const readings: Reading[] = Array.from({ length: 60 }, (_, i) => ({
      device: 'd',
      point: 'p',
      value: Math.sin(i) * 100 + (i === 7 ? 1e300 : 0),
      ts: T0 + i * 1000,
      quality: i % 13 ? 'good' : 'timeout',
    }));
    const mk = () => new RollupEngine({ windows: [M, 15 * M], grace: 5000, timezone: 'Europe/Amsterdam' });
    const whole = mk();
    for (const r of readings) whole.add(r, r.ts);
    const before = mk();
    for (const r of readings.slice(0, 25)) before.add(r, r.ts);
    const saved = JSON.parse(JSON.stringify(before.save(T0 + 25_000)));
    const after = mk();
    // The minute; the 15-minute window has no statistics of its own before its first minute
    // closes (the cascade: rollup-engine.ts).
    expect(after.restore(saved, false)).toBe(1);
    for (const r of readings.slice(25)) after.add(r, r.ts);
    expect(after.close(T0 + 16 * M)).toEqual(whole.close(T0 + 16 * M));
    // Another time zone aligns windows differently: the state is refused, not misread.
    expect(new RollupEngine({ windows: [M], grace: 5000, timezone: 'UTC' }).restore(saved, false)).toBe(-1);
  });
});
