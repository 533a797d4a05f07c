/**
 * The Store contract as a test suite any implementation runs (STYLE.md principle 7):
 * `storeContract('LevelStore', factory)`. The factory builds a store over persistent state that
 * `reopen()` reopens (an in-memory implementation keeps it in an object).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import type { StoreConfig } from '../../src/settings/schema.js';
import { storeSchema } from '../../src/settings/schema.js';
import type { ReadingBatch } from '../../src/shared/reading.js';

export interface StoreHarness {
  /** A new, unopened store over the same state each call. */
  make(config: StoreConfig): Store;
  cleanup(): Promise<void>;
}

/** Tests commit one record after another: a 10 ms sync pacing keeps them quick (the default is tested on its own). */
export function config(over: Partial<Record<keyof StoreConfig, unknown>> = {}): StoreConfig {
  return storeSchema().parse({ syncInterval: 10, ...over });
}

export function batch(device: string, ts: number, n = 3, base = 0): ReadingBatch {
  return {
    device,
    ts,
    readings: Array.from({ length: n }, (_, i) => ({
      device,
      point: `p${i}`,
      value: base + i * 0.1,
      ts,
      quality: 'good' as const,
    })),
  };
}

/** produced + pendingAtOpen = delivered + pending + buffered + dropped, for one cursor. */
export function expectIdentity(store: Store, cursor: string): void {
  const s = store.stats();
  const c = s.cursors.find((x) => x.name === cursor)!;
  expect(s.readingsProduced + c.readingsPendingAtOpen).toBe(
    c.readingsDelivered +
      c.readingsPending +
      s.readingsBuffered +
      s.readingsDropped['buffer-overflow'] +
      s.readingsDropped['write-failed'] +
      c.readingsEvicted,
  );
}

export function storeContract(name: string, harness: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    const open: Store[] = [];
    const start = async (cfg: StoreConfig): Promise<Store> => {
      const s = h.make(cfg);
      await s.open();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      await h?.cleanup();
    });
    const sinks = { cloud: { types: ['readings', 'aggregate', 'alarm'] }, control: { types: ['alarm', 'aggregate'] } };

    it('commits with increasing seqs and reads back what was committed', async () => {
      h = await harness();
      const s = await start(config({ sinks }));
      const results = await Promise.all(
        [0, 1, 2].map((i) => s.commit({ type: 'readings', batch: batch('b1', 1000 + i, 3, i) })),
      );
      const seqs = results.map((r) => (r.ok ? r.seq : -1));
      expect(seqs.every((x, i) => i === 0 || x > seqs[i - 1]!)).toBe(true);
      const alarm = await s.commit({ type: 'alarm', alarm: { kind: 'raised', point: 'p1', level: 2 } });
      expect(alarm.ok).toBe(true);
      const recs = await s.read('cloud', { maxRecords: 10 });
      expect(recs.map((r) => r.seq)).toEqual([...seqs, alarm.ok ? alarm.seq : -1]);
      expect(recs[1]).toMatchObject({ type: 'readings', batch: batch('b1', 1001, 3, 1) });
      expect(recs[3]).toMatchObject({ type: 'alarm', alarm: { kind: 'raised', point: 'p1', level: 2 } });
    });

    it('gives each sink only the record types it needs', async () => {
      h = await harness();
      const s = await start(config({ sinks }));
      await s.commit({ type: 'readings', batch: batch('b1', 1) });
      const ag = await s.commit({ type: 'aggregate', aggregate: { kind: 'mean', v: 1 } });
      const recs = await s.read('control', { maxRecords: 10 });
      expect(recs.map((r) => r.type)).toEqual(['aggregate']);
      expect(recs[0]!.seq).toBe(ag.ok && ag.seq);
      expect((await s.read('cloud', { maxRecords: 10, types: ['readings'] })).map((r) => r.type)).toEqual(['readings']);
    });

    it('moves cursors forward only and never past the head', async () => {
      h = await harness();
      const s = await start(config({ sinks }));
      const seqs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await s.commit({ type: 'readings', batch: batch('b1', i) });
        if (r.ok) seqs.push(r.seq);
      }
      expect(await s.ack('cloud', seqs[2]!)).toBe(seqs[2]);
      expect(await s.ack('cloud', seqs[0]!)).toBe(seqs[2]);
      await expect(s.ack('cloud', seqs[4]! + 100)).rejects.toMatchObject({ code: 'HALFWEG_STORE_USAGE' });
      await expect(s.read('nobody', { maxRecords: 1 })).rejects.toMatchObject({ code: 'HALFWEG_STORE_USAGE' });
      // A sink's one call at start: the position of a cursor declared at open for its type.
      expect(s.cursor('cloud', 'readings')).toBe(seqs[2]);
      expect(() => s.cursor('nobody', 'readings')).toThrow(expect.objectContaining({ code: 'HALFWEG_STORE_USAGE' }));
      expect(() => s.cursor('control', 'readings')).toThrow(/no cursor "control" with types \[readings\]/);
      expect((await s.read('cloud', { maxRecords: 10 })).map((r) => r.seq)).toEqual(seqs.slice(3));
      expect((await s.read('cloud', { maxRecords: 10, after: seqs[3] })).map((r) => r.seq)).toEqual(seqs.slice(4));
    });

    it('keeps records, cursors and seqs across a reopen', async () => {
      h = await harness();
      let s = await start(config({ sinks }));
      const a = await s.commit({ type: 'readings', batch: batch('b1', 1) });
      const b = await s.commit({ type: 'readings', batch: batch('b1', 2) });
      await s.ack('cloud', a.ok ? a.seq : 0);
      await s.close();
      open.pop();
      s = await start(config({ sinks }));
      expect((await s.read('cloud', { maxRecords: 10 })).map((r) => r.seq)).toEqual([b.ok && b.seq]);
      const c = await s.commit({ type: 'readings', batch: batch('b1', 3) });
      expect(c.ok && b.ok && c.seq > b.seq).toBe(true);
      expect(s.stats().cursors.find((x) => x.name === 'cloud')!.readingsPendingAtOpen).toBe(3);
      expectIdentity(s, 'cloud');
    });

    it('keeps names as written across a reopen, a leading U+FEFF too (a TextDecoder drops it by default)', async () => {
      h = await harness();
      let s = await start(config({ sinks }));
      const device = '\uFEFFboiler-1';
      const written = batch(device, 1);
      await s.commit({ type: 'readings', batch: written });
      await s.close();
      open.pop();
      s = await start(config({ sinks }));
      const [r] = await s.read('cloud', { maxRecords: 1 });
      expect(r!.type === 'readings' && r!.batch).toStrictEqual(written);
    });

    it('deletes a record once every sink that needs it has acknowledged it (keepReadings 0: no local history)', async () => {
      h = await harness();
      const s = await start(config({ sinks, keepReadings: 0 }));
      const r = await s.commit({ type: 'readings', batch: batch('b1', 1) });
      const al = await s.commit({ type: 'alarm', alarm: { kind: 'raised' } });
      await s.ack('cloud', al.ok ? al.seq : 0);
      await new Promise((res) => setTimeout(res, 50));
      expect(s.stats().records.readings).toBe(0); // only cloud needs readings
      expect(s.stats().records.alarm).toBe(1); // control has not acknowledged the alarm
      await s.ack('control', al.ok ? al.seq : 0);
      await new Promise((res) => setTimeout(res, 50));
      expect(s.stats().records.alarm).toBe(0);
      expect(r.ok).toBe(true);
      expectIdentity(s, 'cloud');
    });

    it('accounts for every reading: produced = delivered + pending + dropped', async () => {
      h = await harness();
      const s = await start(config({ sinks }));
      for (let i = 0; i < 20; i++) await s.commit({ type: 'readings', batch: batch('b1', i, 5) });
      const recs = await s.read('cloud', { maxRecords: 7 });
      await s.ack('cloud', recs[recs.length - 1]!.seq);
      const c = s.stats().cursors.find((x) => x.name === 'cloud')!;
      expect(c.readingsDelivered).toBe(35);
      expect(c.readingsPending).toBe(65);
      expectIdentity(s, 'cloud');
    });

    it('refuses commits after close without throwing', async () => {
      h = await harness();
      const s = h.make(config({ sinks }));
      await s.open();
      await s.close();
      expect(await s.commit({ type: 'readings', batch: batch('b1', 1) })).toEqual({ ok: false, reason: 'closed' });
    });
  });
}
