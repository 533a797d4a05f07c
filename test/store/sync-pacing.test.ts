/**
 * Flash wear (issue 15): at default settings the store makes at most 2 fsyncs per second however
 * many devices commit and however many sinks acknowledge, and still resolves a commit only after
 * a synced write that contains it. Observed at the WriteFn seam: every LevelDB write the store
 * makes passes through it with its `sync` flag.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LevelStore, type BatchOp, type WriteFn } from '../../src/store/level-store.js';
import { PREFIX_TYPE, CURSOR_PREFIX, seqOfKey } from '../../src/store/keys.js';
import { storeSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import { batch, expectIdentity } from './contract.js';
import { memoryReadingsFor } from '../../src/agent.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-pacing-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const recordSeqs = (ops: BatchOp[]): number[] =>
  ops.filter((o) => o.type === 'put' && PREFIX_TYPE.has(o.key[0]!)).map((o) => seqOfKey(o.key));

/**
 * Watches the writes: `durable` is the highest record seq made durable so far: a synced write
 * makes durable its own records and those of every write that completed before it started
 * (LevelDB appends writes to one log in order; the fsync covers all of it).
 */
function watch() {
  const completed: number[] = [];
  const log: { sync: boolean; cursor: boolean; records: number }[] = [];
  const state = { durable: 0, synced: 0, writes: 0 };
  const wrap =
    (w: WriteFn): WriteFn =>
    async (ops, o) => {
      const before = o.sync ? Math.max(0, ...completed) : 0;
      const mine = recordSeqs(ops);
      await w(ops, o);
      state.writes++;
      completed.push(...mine);
      log.push({ sync: o.sync, cursor: ops.some((op) => op.key[0] === CURSOR_PREFIX), records: mine.length });
      if (o.sync) {
        state.synced++;
        state.durable = Math.max(state.durable, before, ...mine);
      }
    };
  return { wrap, state, log };
}

it('at default settings: 30 devices and 4 sinks for 3 s make at most 2 synced writes a second, and every commit resolves after its synced write', async () => {
  const sinks = Object.fromEntries(
    ['control', 'cloud', 'sparkplug', 'audit'].map((n) => [
      n,
      { types: ['readings', 'alarm'] as ('readings' | 'alarm')[] },
    ]),
  );
  const config = storeSchema().parse({ sinks }); // default sync: every-batch, syncInterval: 500 ms
  expect(config.syncInterval).toBe(500);
  const w = watch();
  const store = new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger(), wrapWrite: w.wrap });
  await store.open();
  const syncsAtOpen = store.stats().syncs;
  const started = performance.now();
  const until = started + 3000;
  let commits = 0;
  let resolvedBeforeDurable = 0;

  const device = async (d: number): Promise<void> => {
    for (let ts = 0; performance.now() < until; ts++) {
      // Ten commits in flight per device (as sources do: they never wait for the fsync).
      const rs = await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          store.commit(
            k === 9 && d === 0
              ? { type: 'alarm', alarm: { kind: 'raised', d, ts } }
              : { type: 'readings', batch: batch(`dev${d}`, ts * 10 + k, 5) },
          ),
        ),
      );
      for (const r of rs) {
        expect(r.ok).toBe(true);
        if (r.ok && r.seq > w.state.durable) resolvedBeforeDurable++;
        commits++;
      }
    }
  };
  const sink = async (name: string): Promise<void> => {
    while (performance.now() < until) {
      const recs = await store.read(name, { maxRecords: 7 });
      const last = recs[recs.length - 1];
      if (last)
        await store.ack(name, last.seq); // one ack per "message", as the sinks do
      else await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all([...Array.from({ length: 30 }, (_, d) => device(d)), ...Object.keys(sinks).map(sink)]);
  const seconds = (performance.now() - started) / 1000;
  const syncs = store.stats().syncs - syncsAtOpen;

  expect(resolvedBeforeDurable).toBe(0);
  expect(commits).toBeGreaterThan(100);
  // Pacing is a minimum gap between synced writes, so this holds however slow the machine is.
  expect(syncs).toBeLessThanOrEqual(Math.floor(seconds * 2) + 1);
  expect(w.state.synced).toBe(syncs);
  // Cursors moved, by writes that were not synced themselves.
  const cursorWrites = w.log.filter((l) => l.cursor);
  expect(cursorWrites.length).toBeGreaterThan(10);
  expect(cursorWrites.every((l) => !l.sync)).toBe(true);
  for (const name of Object.keys(sinks)) {
    expect(store.stats().cursors.find((c) => c.name === name)!.position).toBeGreaterThan(0);
    expectIdentity(store, name);
  }
  await store.close();
});

it('a cursor acknowledged while nothing is committed becomes durable by a synced write that follows it', async () => {
  const config = storeSchema().parse({ syncInterval: 50, sinks: { cloud: { types: ['readings'] } } });
  const w = watch();
  const store = new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger(), wrapWrite: w.wrap });
  await store.open();
  const r = await Promise.all([1, 2, 3].map((i) => store.commit({ type: 'readings', batch: batch('b1', i) })));
  expect(r.every((x) => x.ok)).toBe(true);
  const synced = w.state.synced;
  await store.ack('cloud', 2);
  const ackAt = w.log.findIndex((l) => l.cursor);
  expect(w.log[ackAt]!.sync).toBe(false);
  // Nothing else is committed: the store itself must follow up with a synced write.
  for (let i = 0; i < 200 && w.state.synced === synced; i++) await new Promise((res) => setTimeout(res, 10));
  expect(w.state.synced).toBe(synced + 1);
  expect(w.log.slice(ackAt + 1).some((l) => l.sync)).toBe(true);
  await store.close();
  const again = new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger() });
  await again.open();
  expect(again.stats().cursors[0]!.position).toBe(2);
  await again.close();
});

it('a group larger than one write goes out as several writes, only the last synced, and resolves after it', async () => {
  const config = storeSchema().parse({
    syncInterval: 50,
    memoryReadings: 100_000,
    sinks: { cloud: { types: ['readings'] } },
  });
  const w = watch();
  const store = new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger(), wrapWrite: w.wrap });
  await store.open();
  const writesBefore = w.log.length;
  let early = 0;
  const all = Array.from({ length: 10_000 }, (_, i) =>
    store.commit({ type: 'readings', batch: batch('b1', i, 1) }).then((res) => {
      if (res.ok && res.seq > w.state.durable) early++;
      return res;
    }),
  );
  const results = await Promise.all(all);
  expect(results.every((x) => x.ok)).toBe(true);
  expect(early).toBe(0);
  const writes = w.log.slice(writesBefore).filter((l) => l.records > 0);
  expect(writes.length).toBeGreaterThan(1);
  expect(writes.filter((l) => l.sync).length).toBeLessThan(writes.length);
  await store.close();
});

it('commits waiting for their sync turn are written at once, so they do not fill the memory buffer', async () => {
  // 50,000 readings in 200 ms (250,000/s, five times issue 15's scale) with the default
  // 10,000-reading buffer, all of them before the next synced write (500 ms): held for that turn
  // they would overflow it five times over; written at once, none may be dropped. The waves are
  // 20 ms apart, not 5: in a clean-clone CI run beside the whole suite, 5 ms once outran the
  // unsynced writes themselves.
  const config = storeSchema().parse({ memoryReadings: 10_000, sinks: { cloud: { types: ['readings'] } } });
  const w = watch();
  const store = new LevelStore({ dir: path.join(root, 'store'), config, log: silentLogger(), wrapWrite: w.wrap });
  await store.open();
  expect((await store.commit({ type: 'readings', batch: batch('b0', 0, 10) })).ok).toBe(true); // the turn is taken now
  const pending = [];
  for (let wave = 0; wave < 10; wave++) {
    for (let d = 0; d < 10; d++) pending.push(store.commit({ type: 'readings', batch: batch(`d${d}`, wave, 500) }));
    await new Promise((r) => setTimeout(r, 20));
  }
  const results = await Promise.all(pending);
  expect(results.every((r) => r.ok)).toBe(true);
  expect(store.stats().readingsDropped['buffer-overflow']).toBe(0);
  expect(store.stats().readingsCommitted).toBe(50_010);
  await store.close();
});

it('ten devices of 5,000 points arriving at once: the agent sizes the buffer to three seconds of polling, so none is dropped', async () => {
  const plant = {
    devices: Array.from({ length: 10 }, () => ({ groups: [{ interval: 1000, points: Array.from({ length: 5000 }) }] })),
  };
  const bound = memoryReadingsFor(10_000, plant as never);
  expect(bound).toBe(150_000);
  expect(
    memoryReadingsFor(10_000, {
      devices: [{ groups: [{ interval: 1000, points: Array.from({ length: 200 }) }] }],
    } as never),
  ).toBe(10_000);
  expect(memoryReadingsFor(200_000, plant as never)).toBe(200_000);
  const burst = async (memoryReadings: number) => {
    const config = storeSchema().parse({ memoryReadings, sinks: { cloud: { types: ['readings'] } } });
    const store = new LevelStore({ dir: path.join(root, `store-${memoryReadings}`), config, log: silentLogger() });
    await store.open();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, d) => store.commit({ type: 'readings', batch: batch(`d${d}`, 0, 5000) })),
    );
    const dropped = store.stats().readingsDropped['buffer-overflow'];
    await store.close();
    return { ok: results.filter((r) => r.ok).length, dropped };
  };
  // The configured 10,000 alone: the nine batches queued behind the first write overflow it.
  expect((await burst(10_000)).dropped).toBeGreaterThan(0);
  expect(await burst(bound)).toEqual({ ok: 10, dropped: 0 });
});
