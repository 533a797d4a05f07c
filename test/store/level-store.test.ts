import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LevelStore, type WriteFn } from '../../src/store/level-store.js';
import { Retention } from '../../src/store/retention.js';
import type { Clock } from '../../src/store/clock.js';
import type { StoreHealth } from '../../src/store/store.js';
import { silentLogger } from '../../src/ops/log.js';
import { batch, config, expectIdentity } from './contract.js';
import { captureLog } from '../support/log.js';

let root: string;
let dir: string;
const stores: LevelStore[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-store-'));
  dir = path.join(root, 'store');
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

async function open(opts: Partial<ConstructorParameters<typeof LevelStore>[0]> = {}): Promise<LevelStore> {
  const s = new LevelStore({
    dir,
    config: config({ sinks: { cloud: { types: ['readings', 'aggregate', 'alarm'] } } }),
    log: silentLogger(),
    ...opts,
  });
  await s.open();
  stores.push(s);
  return s;
}
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('LevelStore maintenance', () => {
  it('deletes on every commit and acknowledgement, but lists the store for the disk budget only on the timer and the write volume', async () => {
    const diskUse = vi.spyOn(Retention.prototype, 'diskUse');
    try {
      const s = await open({
        retentionInterval: 3_600_000,
        // Readings go to no sink and local history is off: each commit leaves something to delete.
        config: config({ keepReadings: 0, diskBudget: 1_048_576, sinks: { control: { types: ['alarm'] } } }),
      });
      await s.runRetention();
      diskUse.mockClear();
      for (let i = 0; i < 20; i++) {
        await s.commit({ type: 'readings', batch: batch('b1', i) });
        const a = await s.commit({ type: 'alarm', alarm: { kind: 'raised', i } });
        await s.ack('control', a.ok ? a.seq : 0);
        await tick(5);
      }
      await tick();
      expect(s.stats().records).toMatchObject({ readings: 0, alarm: 0 });
      expect(diskUse).not.toHaveBeenCalled();
      // A twentieth of the budget written since the last full run: the budget is checked at once.
      const wide = {
        ...batch('b1', 100, 500),
        readings: batch('b1', 100, 500).readings.map((r, j) => ({ ...r, value: Math.sin(j) })),
      };
      for (let i = 0; i < 200 && diskUse.mock.calls.length === 0; i++) {
        await s.commit({ type: 'readings', batch: { ...wide, ts: 100 + i } });
        await tick(5);
      }
      expect(diskUse).toHaveBeenCalled();
    } finally {
      diskUse.mockRestore();
    }
  });
});

describe('LevelStore faults', () => {
  it('keeps going on a full disk: buffers within the bound, counts drops, reports health, resumes', async () => {
    let full = false;
    const wrapWrite =
      (w: WriteFn): WriteFn =>
      (ops, o) =>
        full
          ? Promise.reject(Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }))
          : w(ops, o);
    const s = await open({
      wrapWrite,
      retry: { initial: 10, max: 40 },
      config: config({ memoryReadings: 100, sinks: { cloud: { types: ['readings'] } } }),
    });
    const health: StoreHealth[] = [];
    s.onHealth((h) => health.push(h));
    expect((await s.commit({ type: 'readings', batch: batch('b1', 0, 10) })).ok).toBe(true);
    full = true;
    const pending = Array.from({ length: 30 }, (_, i) => s.commit({ type: 'readings', batch: batch('b1', i + 1, 10) }));
    await tick(100);
    expect(s.health()).toMatchObject({ state: 'degraded' });
    expect(s.stats().readingsBuffered).toBeLessThanOrEqual(100);
    expect(s.stats().readingsDropped['buffer-overflow']).toBe(200);
    expectIdentity(s, 'cloud');
    full = false;
    const results = await Promise.all(pending);
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results.filter((r) => !r.ok && r.reason === 'buffer-overflow')).toHaveLength(20);
    expect(s.health()).toEqual({ state: 'ok' });
    expect(health.map((h) => h.state)).toEqual(['degraded', 'ok']);
    // the survivors are the newest batches, in order
    const recs = await s.read('cloud', { maxRecords: 100 });
    expect(recs.map((r) => (r.type === 'readings' ? r.batch.ts : -1))).toEqual([
      0,
      ...Array.from({ length: 10 }, (_, i) => 21 + i),
    ]);
    expect(s.stats().readingsCommitted).toBe(110);
    expectIdentity(s, 'cloud');
  });

  it('evicts readings first, then aggregates, alarms last; logs and counts the loss', async () => {
    const { log, lines } = captureLog();
    const s = await open({
      log,
      retentionInterval: 60_000,
      config: config({ diskBudget: 1_048_576, sinks: { cloud: { types: ['readings', 'aggregate', 'alarm'] } } }),
    });
    const big = (i: number) => ({
      ...batch('b1', i, 200),
      readings: batch('b1', i, 200).readings.map((r, j) => ({ ...r, value: Math.sin(i * 1000 + j) })),
    });
    for (let i = 0; i < 20; i++) await s.commit({ type: 'alarm', alarm: { kind: 'raised', i } });
    for (let i = 0; i < 20; i++)
      await s.commit({ type: 'aggregate', aggregate: { kind: 'mean', i, pad: 'x'.repeat(100) } });
    for (let i = 0; i < 1200; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, k) => s.commit({ type: 'readings', batch: big(i + k) })));
    await (s as unknown as { enforceRetention(): Promise<void> }).enforceRetention();
    const st = s.stats();
    expect(st.recordsEvicted.readings).toBeGreaterThan(0);
    expect(st.recordsEvicted.aggregate).toBe(0);
    expect(st.recordsEvicted.alarm).toBe(0);
    expect(st.readingsDropped.evicted).toBe(st.recordsEvicted.readings * 200);
    expect(await s.diskBytes()).toBeLessThanOrEqual(1_048_576);
    const warns = lines.filter((l) => l['level'] === 40 && l['type'] === 'readings');
    expect(
      warns.every(
        (w) => w['reason'] === 'disk budget' && typeof w['fromSeq'] === 'number' && typeof w['toSeq'] === 'number',
      ),
    ).toBe(true);
    expect(warns.reduce((n, w) => n + (w['records'] as number), 0)).toBe(st.recordsEvicted.readings);
    // what remains of the readings is the newest
    const recs = await s.read('cloud', { maxRecords: 50, types: ['readings'] });
    expect(recs[0]!.seq).toBeGreaterThan(40 + st.recordsEvicted.readings);
    expectIdentity(s, 'cloud');
    expect(s.evictionTotals().readings.records).toBe(st.recordsEvicted.readings);
  });

  it('evicts by age on the store clock', async () => {
    const wall = 1_000_000_000;
    let mono = 0;
    const clock: Clock = { now: () => wall, monotonic: () => mono };
    const s = await open({
      clock,
      retentionInterval: 60_000,
      config: config({ maxAge: '1h', sinks: { cloud: { types: ['readings'] } } }),
    });
    await s.commit({ type: 'readings', batch: batch('b1', 1) });
    mono += 30 * 60_000;
    await s.commit({ type: 'readings', batch: batch('b1', 2) });
    mono += 31 * 60_000;
    await (s as unknown as { enforceRetention(): Promise<void> }).enforceRetention();
    expect(s.stats().recordsEvicted.readings).toBe(1);
    expect(s.stats().records.readings).toBe(1);
    expect(wall).toBe(1_000_000_000);
  });

  it('detects a wall clock jumping back an hour, counts it, and keeps order by seq', async () => {
    let wall = 1_700_000_000_000;
    let mono = 1000;
    const clock: Clock = { now: () => wall, monotonic: () => mono };
    const { log, lines } = captureLog();
    const s = await open({ clock, log });
    const a = await s.commit({ type: 'readings', batch: batch('b1', wall) });
    mono += 1000;
    wall -= 3_600_000 - 1000;
    const b = await s.commit({ type: 'readings', batch: batch('b1', wall) });
    expect(s.stats().clockJumps).toBe(1);
    expect(lines.some((l) => l['jumpMs'] === -3_600_000)).toBe(true);
    const recs = await s.read('cloud', { maxRecords: 10 });
    expect(recs.map((r) => r.seq)).toEqual([a.ok && a.seq, b.ok && b.seq]);
    expect(recs[1]!.at).toBeGreaterThan(recs[0]!.at); // store time follows the monotonic clock
  });
});

describe('LevelStore corruption', () => {
  async function fill(n: number): Promise<number> {
    const s = await open();
    let last = 0;
    for (let i = 0; i < n; i++) {
      const r = await s.commit({ type: 'readings', batch: batch('b1', i, 50, i) });
      if (r.ok) last = r.seq;
    }
    await s.close();
    stores.pop();
    return last;
  }

  async function garble(file: string): Promise<void> {
    const b = await readFile(file);
    for (let i = 0; i < b.length; i += 7) b[i] = b[i]! ^ 0x5a;
    await writeFile(file, b);
  }

  for (const target of ['CURRENT', 'MANIFEST', 'tables and logs'] as const) {
    it(`recovers from a garbled ${target}, seqs continuing above the old ones`, async () => {
      const last = await fill(300);
      // push data into .ldb files
      const { ClassicLevel } = await import('classic-level');
      const db = new ClassicLevel(dir);
      await db.open();
      await db.compactRange('\x00', '\xff');
      await db.close();
      const files = await readdir(dir);
      const victims =
        target === 'CURRENT'
          ? ['CURRENT']
          : target === 'MANIFEST'
            ? files.filter((f) => f.startsWith('MANIFEST-'))
            : files.filter((f) => /\.(ldb|log)$/.test(f));
      expect(victims.length).toBeGreaterThan(0);
      for (const f of victims) await garble(path.join(dir, f));
      const { log, lines } = captureLog();
      const s = await open({ log });
      const rec = s.recoveryAtOpen;
      expect(['repaired', 'moved']).toContain(rec.kind);
      expect(lines.some((l) => l['level'] === 50 && /corrupt/.test(String(l['msg'])))).toBe(true);
      if (rec.kind === 'moved') {
        expect(lines.some((l) => String(l['msg']).includes(rec.movedTo))).toBe(true);
        expect((await readdir(root)).some((f) => f.startsWith('store.corrupt-'))).toBe(true);
      }
      const r = await s.commit({ type: 'readings', batch: batch('b1', 1) });
      expect(r.ok && r.seq).toBeGreaterThan(last);
      // whatever survived still reads
      await s.read('cloud', { maxRecords: 1000 });
    });
  }

  it('reports a locked database instead of touching it', async () => {
    await open();
    const other = new LevelStore({ dir, config: config(), log: silentLogger() });
    await expect(other.open()).rejects.toMatchObject({ code: 'HALFWEG_STORE_LOCKED' });
  });
});
