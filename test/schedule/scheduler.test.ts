import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, type ScheduleRun } from '../../src/schedule/scheduler.js';
import { MemoryState } from '../../src/store/state-store.js';
import { localParts } from '../../src/shared/zone.js';
import { silentLogger } from '../../src/ops/log.js';

const AMS = 'Europe/Amsterdam';
const H = 3_600_000;
const iso = (s: string): number => Date.parse(s);

function scheduler(state: MemoryState, cron: string, runs: ScheduleRun[], name = 'job'): Scheduler {
  return new Scheduler({
    timezone: AMS,
    state,
    log: silentLogger(),
    schedules: [{ name, cron, job: (r) => void runs.push(r) }],
  });
}

describe('scheduler (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  for (const [label, from, days] of [
    ['spring forward', '2025-03-28T12:00:00Z', 4],
    ['fall back', '2025-10-24T12:00:00Z', 4],
  ] as const) {
    it(`a daily schedule fires once per local day across ${label}, at local 00:05`, async () => {
      vi.setSystemTime(iso(from));
      const runs: ScheduleRun[] = [];
      const s = scheduler(new MemoryState(), '5 0 * * *', runs);
      await s.start();
      await vi.advanceTimersByTimeAsync(days * 24 * H);
      await s.stop();
      expect(runs).toHaveLength(days);
      const dates = runs.map((r) => localParts(r.slot, AMS));
      expect(new Set(dates.map((p) => `${p.month}-${p.day}`)).size).toBe(days);
      for (const p of dates) expect([p.hour, p.minute]).toEqual([0, 5]);
      expect(runs.every((r) => !r.catchUp)).toBe(true);
    });
  }

  it('an hourly schedule fires once per real hour on the spring-forward day (23 runs)', async () => {
    vi.setSystemTime(iso('2025-03-29T23:00:30Z')); // 00:00:30 CET, just after the 00:00 slot
    const runs: ScheduleRun[] = [];
    const s = scheduler(new MemoryState(), '0 * * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(23 * H);
    await s.stop();
    expect(runs).toHaveLength(23);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.slot - runs[i - 1]!.slot).toBe(H);
  });

  it('on the fall-back day the repeated local hour runs once, as node-cron does: 24 runs in 25 real hours, never two in one hour', async () => {
    vi.setSystemTime(iso('2025-10-25T22:00:30Z')); // 00:00:30 CEST
    const runs: ScheduleRun[] = [];
    const s = scheduler(new MemoryState(), '0 * * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(25 * H);
    await s.stop();
    expect(runs).toHaveLength(24);
    expect(new Set(runs.map((r) => r.slot)).size).toBe(24);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.slot - runs[i - 1]!.slot).toBeGreaterThanOrEqual(H);
  });

  it('catches up once after downtime (not once per missed slot), then runs normally', async () => {
    const state = new MemoryState();
    await state.put('schedule.job.lastSlot', String(iso('2025-01-10T23:05:00Z'))); // ran 2025-01-11 00:05 CET
    vi.setSystemTime(iso('2025-01-14T12:00:00Z')); // down for three days
    const runs: ScheduleRun[] = [];
    const s = scheduler(state, '5 0 * * *', runs);
    await s.start();
    expect(runs).toEqual([{ name: 'job', slot: iso('2025-01-13T23:05:00Z'), catchUp: true }]);
    await vi.advanceTimersByTimeAsync(24 * H);
    await s.stop();
    expect(runs.map((r) => [r.slot, r.catchUp])).toEqual([
      [iso('2025-01-13T23:05:00Z'), true],
      [iso('2025-01-14T23:05:00Z'), false],
    ]);
    expect(state.values.get('schedule.job.lastSlot')).toBe(String(iso('2025-01-14T23:05:00Z')));
  });

  it('first start ever: nothing to catch up', async () => {
    vi.setSystemTime(iso('2025-01-14T12:00:00Z'));
    const runs: ScheduleRun[] = [];
    const s = scheduler(new MemoryState(), '5 0 * * *', runs);
    await s.start();
    await s.stop();
    expect(runs).toEqual([]);
  });

  it('no double run: a restart, or a restart after the clock was set back, skips slots that already ran', async () => {
    const state = new MemoryState();
    vi.setSystemTime(iso('2025-01-14T12:00:00Z'));
    const runs: ScheduleRun[] = [];
    let s = scheduler(state, '5 0 * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(13 * H); // runs 01-15 00:05 CET
    await s.stop();
    expect(runs).toHaveLength(1);
    s = scheduler(state, '5 0 * * *', runs); // restart at once
    await s.start();
    await s.stop();
    expect(runs).toHaveLength(1);
    vi.setSystemTime(iso('2025-01-14T20:00:00Z')); // the clock goes back 5 h, then the agent restarts
    s = scheduler(state, '5 0 * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(6 * H); // passes 01-15 00:05 CET again
    await s.stop();
    expect(runs).toHaveLength(1);
    expect(s.lastRun('job')).toBe(iso('2025-01-14T23:05:00Z'));
  });

  it('a clock set back while running: the slot that ran does not run again, and the next day runs on time', async () => {
    const state = new MemoryState();
    vi.setSystemTime(iso('2025-01-14T22:00:00Z'));
    const runs: ScheduleRun[] = [];
    const s = scheduler(state, '5 0 * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(2 * H); // runs 01-15 00:05 CET (23:05Z)
    expect(runs.map((r) => r.slot)).toEqual([iso('2025-01-14T23:05:00Z')]);
    vi.setSystemTime(iso('2025-01-14T20:00:00Z')); // set back 4 h, before that slot
    await vi.advanceTimersByTimeAsync(6 * H); // passes 23:05Z again
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(22 * H); // to 01-16 00:05 CET
    await s.stop();
    expect(runs.map((r) => r.slot)).toEqual([iso('2025-01-14T23:05:00Z'), iso('2025-01-15T23:05:00Z')]);
    expect(runs.every((r) => !r.catchUp)).toBe(true);
  });

  it('a forward clock jump while running: the missed slot runs once (found more than a minute late: caught up once)', async () => {
    const state = new MemoryState();
    vi.setSystemTime(iso('2025-01-14T12:00:00Z'));
    const runs: ScheduleRun[] = [];
    const s = scheduler(state, '5 0 * * *', runs);
    await s.start();
    await vi.advanceTimersByTimeAsync(H);
    vi.setSystemTime(iso('2025-01-17T12:00:00Z')); // +3 days
    await vi.advanceTimersByTimeAsync(24 * H);
    await s.stop();
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    expect(slots).toContain(iso('2025-01-16T23:05:00Z'));
    expect(slots.filter((x) => x < iso('2025-01-17T12:00:00Z'))).toHaveLength(1); // once, not three times
  });
});
