import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Aggregation } from '../../src/aggregate/aggregation.js';
import { cloudAggregate, cloudWants } from '../../src/aggregate/cloud-policy.js';
import { JsonFileState } from '../../src/store/json-file-state.js';
import { isRollup, rollupRows, type RollupPayload } from '../../src/aggregate/rollup-record.js';
import { RollupStage } from '../../src/aggregate/rollup-stage.js';
import { MemoryState } from '../../src/store/state-store.js';
import { aggregateSchema, cloudSchema } from '../../src/aggregate/options.js';
import { schedulesSchema } from '../../src/schedule/options.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import type { ReadingBatch } from '../../src/shared/reading.js';
import type { AggregatePayload, NewRecord } from '../../src/store/records.js';
import type { CommitResult } from '../../src/store/store.js';

const M = 60_000;
const T0 = Date.parse('2025-01-01T10:00:00Z');

/** A store that keeps what is committed (the real one is tested in test/store). */
function fakeStore() {
  const records: NewRecord[] = [];
  let seq = 0;
  return {
    records,
    commit: async (r: NewRecord): Promise<CommitResult> => (records.push(r), { ok: true, seq: ++seq }),
  };
}
const batch = (device: string, ts: number, values: Record<string, number>): ReadingBatch => ({
  device,
  ts,
  readings: Object.entries(values).map(([point, value]) => ({ device, point, value, ts, quality: 'good' as const })),
});

describe('rollup stage and aggregation', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('commits one compact aggregate record per window close holding every point, and calls onRollup', async () => {
    vi.setSystemTime(T0);
    const store = fakeStore();
    const seen: RollupPayload[] = [];
    const stage = new RollupStage({
      windows: [M, 15 * M],
      grace: 5000,
      accuracy: 0.01,
      maxPoints: 100,
      timezone: 'UTC',
      commit: store.commit,
      state: new MemoryState(),
      log: silentLogger(),
      onRollup: (p) => seen.push(p),
    });
    await stage.start();
    for (let s = 0; s < 60; s++) {
      stage.accept(batch('boiler-1', T0 + s * 1000, { pressure: 10 + (s % 3), temp: 80 }));
      stage.accept(batch('genset-1', T0 + s * 1000, { rpm: 1500 }));
      await vi.advanceTimersByTimeAsync(1000);
    }
    await vi.advanceTimersByTimeAsync(6000);
    expect(store.records).toHaveLength(1);
    const p = (store.records[0] as { aggregate: AggregatePayload }).aggregate;
    expect(isRollup(p)).toBe(true);
    expect(seen).toEqual([p]);
    const rows = rollupRows(p as RollupPayload);
    expect(rows.map((r) => `${r.device}/${r.point}`)).toEqual(['boiler-1/pressure', 'boiler-1/temp', 'genset-1/rpm']);
    expect(rows[0]).toMatchObject({ count: 60, good: 60, min: 10, max: 12, mean: 11, late: 0 });
    expect(JSON.stringify(p).length).toBeLessThan(600);
    await stage.stop();
  });

  it('persists the closed horizon: a restart never emits a window again', async () => {
    vi.setSystemTime(T0);
    const state = new MemoryState();
    const store = fakeStore();
    const mk = () =>
      new RollupStage({
        windows: [M],
        grace: 5000,
        accuracy: 0.01,
        maxPoints: 100,
        timezone: 'UTC',
        commit: store.commit,
        state,
        log: silentLogger(),
      });
    let stage = mk();
    await stage.start();
    stage.accept(batch('d', T0 + 1000, { p: 1 }));
    await vi.advanceTimersByTimeAsync(M + 6000);
    await stage.stop();
    expect(store.records).toHaveLength(1);
    expect(state.values.get('rollup.1m.closedUntil')).toBe(String(T0 + M));
    stage = mk();
    await stage.start();
    stage.accept(batch('d', T0 + 2000, { p: 2 })); // replayed old reading after the restart
    await vi.advanceTimersByTimeAsync(2 * M);
    await stage.stop();
    expect(store.records).toHaveLength(1);
    expect(stage.stats().readings).toBe(0); // stats reset with the engine at stop
  });

  it('the daily report is committed (so the sinks publish it) with per-device counts', async () => {
    vi.setSystemTime(Date.parse('2025-01-14T23:00:00Z')); // 00:00 CET
    const store = fakeStore();
    const state = new MemoryState();
    const config = configSchema().parse({ schedules: { timezone: 'Europe/Amsterdam', dailyReport: '5 0 * * *' } });
    const onRecord: AggregatePayload[] = [];
    const agg = new Aggregation({
      config,
      devices: ['boiler-1', 'genset-1'],
      store,
      state,
      log: silentLogger(),
      onRecord: (p) => onRecord.push(p),
    });
    await agg.start();
    for (let s = 0; s < 120; s++) {
      agg.accept(batch('boiler-1', Date.now(), { pressure: 10 }));
      await vi.advanceTimersByTimeAsync(1000);
    }
    agg.noteAlarm('boiler-1');
    await vi.advanceTimersByTimeAsync(4 * M);
    await agg.stop();
    const reports = store.records.filter((r) => r.type === 'aggregate' && r.aggregate.kind === 'daily-report');
    expect(reports).toHaveLength(1);
    const rep = (reports[0] as { aggregate: AggregatePayload }).aggregate;
    expect(rep).toMatchObject({ date: '2025-01-14', tz: 'Europe/Amsterdam', catchUp: false });
    expect(rep['devices']).toEqual([
      { device: 'boiler-1', uptime: expect.any(Number), good: 120, bad: 0, alarms: 1 },
      { device: 'genset-1', uptime: 0, good: 0, bad: 0, alarms: 0 },
    ]);
    expect(onRecord.some((p) => p.kind === 'daily-report')).toBe(true);
  });
});

describe('config and cost knob', () => {
  it('defaults: 1m/15m/1h windows, 10 s grace, UTC, daily report at 00:05, cloud gets both', () => {
    const c = configSchema().parse({});
    expect(c.aggregate).toEqual({
      enabled: true,
      windows: [60_000, 900_000, 3_600_000],
      grace: 10_000,
      accuracy: 0.01,
      maxPoints: 10_000,
    });
    expect(c.schedules).toEqual({ timezone: 'UTC', dailyReport: '5 0 * * *' });
    expect(c.cloud).toEqual({ default: 'both', devices: {} });
  });

  it('rejects bad windows, zones and cron expressions with their paths', () => {
    expect(aggregateSchema().safeParse({ windows: ['7m'] }).error?.issues[0]?.message).toMatch(/divide a day/);
    expect(schedulesSchema().safeParse({ timezone: 'Mars/Olympus' }).error?.issues[0]?.message).toMatch(/IANA/);
    expect(schedulesSchema().safeParse({ retention: '0 25 * * *' }).error?.issues[0]?.path).toEqual(['retention']);
    expect(schedulesSchema().parse({ dailyReport: false }).dailyReport).toBe(false);
  });

  it('cloudWants: raw, aggregates or both per device; alarms always; rollup rows filtered per device', () => {
    const cloud = cloudSchema().parse({ default: 'aggregates', devices: { 'genset-1': 'raw', 'boiler-1': 'both' } });
    expect(cloudWants(cloud, 'pump-3', 'readings')).toBe(false);
    expect(cloudWants(cloud, 'pump-3', 'aggregate')).toBe(true);
    expect(cloudWants(cloud, 'genset-1', 'aggregate')).toBe(false);
    expect(cloudWants(cloud, 'genset-1', 'alarm')).toBe(true);
    expect(cloudWants(cloud, 'boiler-1', 'readings')).toBe(true);
    const p = {
      kind: 'rollup',
      columns: ['device', 'point'],
      rows: [
        ['genset-1', 'rpm'],
        ['boiler-1', 'p'],
      ],
    } as unknown as AggregatePayload;
    expect((cloudAggregate(cloud, p) as RollupPayload).rows).toEqual([['boiler-1', 'p']]);
    const only = { ...p, rows: [['genset-1', 'rpm']] } as unknown as AggregatePayload;
    expect(cloudAggregate(cloud, only)).toBeNull();
    expect(cloudAggregate(cloud, { kind: 'daily-report' })).toEqual({ kind: 'daily-report' });
  });
});

describe('JSON-file state', () => {
  it('keeps values across instances and writes atomically', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'halfweg-agg-'));
    try {
      const file = path.join(dir, 'sub', 'aggregate-state.json');
      const a = new JsonFileState(file);
      expect(await a.get('x')).toBeUndefined();
      await Promise.all([a.put('x', '1'), a.put('y', '2'), a.put('x', '3')]);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ x: '3', y: '2' });
      expect(await new JsonFileState(file).get('x')).toBe('3');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
