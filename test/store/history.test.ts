/**
 * Issue 18.4: local history that survives the sinks. Raw readings stay `store.keepReadings` after
 * they were stored, whatever the sinks forward or acknowledged; the disk budget wins and what it
 * takes early is counted; produced = delivered + pending + counted drops still holds. Real
 * LevelDB in temp dirs, the store's clock injected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/store/level-store.js';
import type { Clock } from '../../src/store/clock.js';
import { silentLogger } from '../../src/ops/log.js';
import type { ReadingBatch } from '../../src/shared/reading.js';
import { config, expectIdentity } from './contract.js';

let root: string;
const stores: LevelStore[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-history-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

const MIN = 60_000;
const T0 = 1_767_225_600_000;

/** A store whose clock the test moves: wall stays, monotonic advances (store time follows it). */
async function open(over: Record<string, unknown>, clock: { mono: number }, sub = 'store'): Promise<LevelStore> {
  const c: Clock = { now: () => T0, monotonic: () => clock.mono };
  const s = new LevelStore({
    dir: path.join(root, sub),
    config: config(over),
    clock: c,
    log: silentLogger(),
    retentionInterval: 3_600_000,
  });
  await s.open();
  stores.push(s);
  return s;
}

function cycle(ts: number, n = 4, device = 'boiler-1'): ReadingBatch {
  return {
    device,
    ts,
    readings: Array.from({ length: n }, (_, i) => ({
      device,
      point: `p${i}`,
      value: Math.sin(ts / 1000 + i) * 100,
      ts,
      quality: 'good' as const,
    })),
  };
}

/** Delivers everything pending on `cursor` (as a sink would after its broker's ack). */
async function deliverAll(s: LevelStore, cursor: string): Promise<void> {
  for (;;) {
    const recs = await s.read(cursor, { maxRecords: 1000 });
    if (!recs.length) return;
    await s.ack(cursor, recs[recs.length - 1]!.seq);
  }
}

const maintain = (s: LevelStore) => s.runRetention();

describe('local history (store.keepReadings)', () => {
  it('keeps readings a sink does not take for keepReadings, then deletes them by age', async () => {
    const clock = { mono: 0 };
    // The control room takes alarms only: before issue 18.4 every reading was deleted at once.
    const s = await open({ keepReadings: '1h', sinks: { control: { types: ['alarm'] } } }, clock);
    for (let m = 0; m < 90; m++) {
      clock.mono = m * MIN;
      await s.commit({ type: 'readings', batch: cycle(T0 + m * MIN) });
    }
    await maintain(s);
    // Store time now is T0 + 89 min: the first 29 minutes are out of the hour, the rest kept.
    expect(s.stats().records.readings).toBe(61);
    const p1 = await s.readPoint('boiler-1', 'p1', { from: T0, to: T0 + 2 * 3_600_000 });
    expect(p1.map((r) => (r.ts - T0) / MIN)).toEqual(Array.from({ length: 61 }, (_, i) => 29 + i));
    expect(p1[0]).toMatchObject({ quality: 'good', value: Math.sin((T0 + 29 * MIN) / 1000 + 1) * 100 });
    // A range and a limit, oldest first; other devices and points are not mixed in.
    await s.commit({ type: 'readings', batch: cycle(T0 + 89 * MIN + 1, 4, 'boiler-2') });
    const some = await s.readPoint('boiler-1', 'p1', { from: T0 + 40 * MIN, to: T0 + 50 * MIN, limit: 5 });
    expect(some.map((r) => (r.ts - T0) / MIN)).toEqual([40, 41, 42, 43, 44]);
    expect((await s.readPoint('boiler-2', 'p1', { from: T0, to: T0 + 100 * MIN })).length).toBe(1);
    // A device's points in one pass: the same readings per point.
    const all = await s.readPoints('boiler-1', null, { from: T0, to: T0 + 2 * 3_600_000 });
    expect([...all.keys()].sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(all.get('p1')).toEqual(p1);
    const two = await s.readPoints('boiler-1', ['p0', 'nope'], { from: T0 + 40 * MIN, to: T0 + 41 * MIN });
    expect([...two.entries()].map(([k, v]) => [k, v.length])).toEqual([
      ['p0', 2],
      ['nope', 0],
    ]);
    expect(s.stats().historyReadingsEvicted).toBe(0);
    expect(s.stats().readingsDropped.evicted).toBe(0);
  });

  it('keeps delivered readings for keepReadings too, and keepReadings 0 deletes them once delivered', async () => {
    const clock = { mono: 0 };
    const kept = await open({ keepReadings: '24h', sinks: { cloud: { types: ['readings'] } } }, clock, 'kept');
    const gone = await open({ keepReadings: 0, sinks: { cloud: { types: ['readings'] } } }, clock, 'gone');
    for (const s of [kept, gone]) {
      for (let m = 0; m < 30; m++) {
        clock.mono = m * MIN;
        await s.commit({ type: 'readings', batch: cycle(T0 + m * MIN) });
      }
      await deliverAll(s, 'cloud');
      await maintain(s);
      expectIdentity(s, 'cloud');
    }
    expect(kept.stats().records.readings).toBe(30);
    expect((await kept.readPoint('boiler-1', 'p0', { from: T0, to: T0 + 30 * MIN })).length).toBe(30);
    expect(gone.stats().records.readings).toBe(0);
    // Delivered, not pending: the sink's backlog is empty whatever local history holds.
    expect(kept.stats().cursors[0]).toMatchObject({ recordsPending: 0, readingsPending: 0, readingsDelivered: 120 });
  });

  it('the disk budget wins over keepReadings; what it takes early is counted, and the identity holds', async () => {
    const clock = { mono: 0 };
    const s = await open(
      {
        keepReadings: '24h',
        diskBudget: 1_048_576,
        sinks: { cloud: { types: ['readings'] }, control: { types: ['alarm'] } },
      },
      clock,
    );
    const big = (i: number): ReadingBatch => cycle(T0 + i * 1000, 200);
    for (let i = 0; i < 1500; i++) {
      clock.mono = i * 1000;
      await s.commit({ type: 'readings', batch: big(i) });
      // The cloud keeps up with the first 1,000 (history only), then falls behind (a backlog).
      if (i === 999) await deliverAll(s, 'cloud');
    }
    await maintain(s);
    const st = s.stats();
    expect(await s.diskBytes()).toBeLessThanOrEqual(1_048_576);
    expect(st.recordsEvicted.readings).toBeGreaterThan(0);
    // History goes first (it is oldest); whatever of the backlog went too is a counted loss.
    expect(st.historyReadingsEvicted).toBe(Math.min(st.recordsEvicted.readings, 1000) * 200);
    expect(st.readingsDropped.evicted).toBe(Math.max(0, st.recordsEvicted.readings - 1000) * 200);
    expectIdentity(s, 'cloud');
    // What is left is the newest, readable by time.
    const left = await s.readPoint('boiler-1', 'p7', { from: T0, to: T0 + 1500 * 1000 });
    expect(left.length).toBe(st.records.readings);
    expect(left.at(-1)!.ts).toBe(T0 + 1499 * 1000);
  });

  it('maxAge still bounds history', async () => {
    const clock = { mono: 0 };
    const s = await open({ keepReadings: '30d', maxAge: '2h', sinks: { control: { types: ['alarm'] } } }, clock);
    for (let h = 0; h < 5; h++) {
      clock.mono = h * 3_600_000;
      await s.commit({ type: 'readings', batch: cycle(T0 + h * 3_600_000) });
    }
    await maintain(s);
    // Stored at 0, 1, 2, 3 and 4 h; at 4 h, those stored before 2 h are past maxAge.
    expect(s.stats().records.readings).toBe(3);
    expect(s.stats().historyReadingsEvicted).toBe(2 * 4);
  });

  it('history survives a restart', async () => {
    const clock = { mono: 0 };
    let s = await open({ keepReadings: '24h', sinks: { control: { types: ['alarm'] } } }, clock);
    for (let m = 0; m < 10; m++) {
      clock.mono = m * MIN;
      await s.commit({ type: 'readings', batch: cycle(T0 + m * MIN) });
    }
    await s.close();
    stores.pop();
    s = await open({ keepReadings: '24h', sinks: { control: { types: ['alarm'] } } }, clock);
    await maintain(s);
    expect((await s.readPoint('boiler-1', 'p3', { from: T0, to: T0 + 10 * MIN })).length).toBe(10);
  });
});
