/**
 * Store benchmark: `node dist/bench/store.bench.js [--quick]` (or `npm run bench -- store`).
 *
 * - commit: 200 devices × 50 points each hand all their batches to the store at once, as sources
 *   do (a source never waits for the fsync): every-batch sync, each commit resolves after an
 *   fsync'd write, concurrent commits share one write, synced writes at most one per
 *   syncInterval (500 ms). A producer that awaited each commit would get two commits a second.
 * - read: a sink reads 1,000 records per call from its cursor and acks.
 * - bytes/reading: simulator-like data (16-bit registers × 0.1, noise around a level, 1 Hz),
 *   directory size after LevelDB compaction, divided by readings.
 * - tombstones: full iteration over the readings before and after deleting the oldest 90%.
 * Medians of 3 runs where it is cheap enough.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelStore } from '../src/store/level-store.js';
import { storeSchema } from '../src/settings/schema.js';
import { silentLogger } from '../src/ops/log.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const quick = process.argv.includes('--quick');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: [string, string, string][] = [];

async function tmp(): Promise<{ dir: string; done: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-bench-'));
  return { dir: path.join(root, 'store'), done: () => rm(root, { recursive: true, force: true }) };
}

function makeStore(dir: string, over: Record<string, unknown> = {}): LevelStore {
  return new LevelStore({
    dir,
    config: storeSchema().parse({ diskBudget: 64 * 2 ** 30, sinks: { cloud: { types: ['readings'] } }, ...over }),
    log: silentLogger(),
    retentionInterval: 3_600_000,
  });
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(path.join(dir, f))).size;
  return n;
}

/** Commits `perDevice` batches from each of `devices` producers, all in flight; readings/s. */
async function commitRun(
  store: LevelStore,
  devices: number,
  perDevice: number,
  t0s = 1_700_000_000_000,
): Promise<number> {
  const devs = simDevices(devices);
  const r = rng(11);
  const batches = devs.flatMap((d) => Array.from({ length: perDevice }, (_, i) => simBatch(d, t0s + i * 1000, r)));
  const t0 = performance.now();
  await Promise.all(batches.map((batch) => store.commit({ type: 'readings', batch })));
  return (devices * perDevice * 50) / ((performance.now() - t0) / 1000);
}

async function readAll(store: LevelStore, cursor: string, ack: boolean): Promise<{ rate: number; readings: number }> {
  let after = 0;
  let readings = 0;
  const t0 = performance.now();
  for (;;) {
    const recs = await store.read(cursor, { maxRecords: 1000, after });
    if (recs.length === 0) break;
    for (const rec of recs) if (rec.type === 'readings') readings += rec.batch.readings.length;
    after = recs[recs.length - 1]!.seq;
    if (ack) await store.ack(cursor, after);
  }
  return { rate: readings / ((performance.now() - t0) / 1000), readings };
}

// 1. commit and read throughput
{
  const perDevice = quick ? 20 : 60;
  const commits: number[] = [];
  const reads: number[] = [];
  for (let run = 0; run < 3; run++) {
    const t = await tmp();
    const s = makeStore(t.dir);
    await s.open();
    commits.push(await commitRun(s, 200, perDevice));
    reads.push((await readAll(s, 'cloud', true)).rate);
    await s.close();
    await t.done();
  }
  rows.push([
    'commit, every-batch sync, 200 devices × 50 points',
    `${Math.round(median(commits)).toLocaleString('en')} readings/s`,
    '≥ 100,000',
  ]);
  rows.push([
    'read from a cursor (1,000 records per read, ack each)',
    `${Math.round(median(reads)).toLocaleString('en')} readings/s`,
    '≥ 500,000',
  ]);
}

// 2. bytes per reading on disk, simulator-like data
{
  const t = await tmp();
  const s = makeStore(t.dir, { sync: 'interval' });
  await s.open();
  const devices = 20;
  const seconds = quick ? 1000 : 3000;
  const devs = simDevices(devices, 50, 5);
  const r = rng(5);
  for (let sec = 0; sec < seconds; sec++) {
    await Promise.all(
      devs.map((d) => s.commit({ type: 'readings', batch: simBatch(d, 1_700_000_000_000 + sec * 1000, r) })),
    );
  }
  await s.close();
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel(t.dir);
  await db.open();
  await db.compactRange('\x00', '\xff');
  await db.close();
  const readings = devices * seconds * 50;
  rows.push([
    `bytes per reading on disk (${(readings / 1e6).toFixed(1)} M simulator-like readings, compacted)`,
    ((await dirSize(t.dir)) / readings).toFixed(2),
    '≤ 4',
  ]);
  await t.done();
}

// 3. iteration before and after deleting 90% (tombstones)
{
  const total = quick ? 1_000_000 : 10_000_000;
  const t = await tmp();
  const s = makeStore(t.dir, {
    sync: 'interval',
    sinks: { cloud: { types: ['readings'] }, audit: { types: ['readings'] } },
  });
  await s.open();
  const devs = simDevices(100, 50, 9);
  const r = rng(9);
  for (let sec = 0; sec < total / 5000; sec++) {
    await Promise.all(
      devs.map((d) => s.commit({ type: 'readings', batch: simBatch(d, 1_700_000_000_000 + sec * 1000, r) })),
    );
  }
  await new Promise((res) => setTimeout(res, 1100));
  const before = (await readAll(s, 'cloud', false)).rate;
  const cut = Math.floor(s.stats().head * 0.9);
  const t0 = performance.now();
  await s.ack('cloud', cut);
  await s.ack('audit', cut);
  while (s.stats().records.readings > total / 50 - cut) await new Promise((res) => setTimeout(res, 20));
  await (s as unknown as { maintenance: Promise<void> }).maintenance;
  const deleteMs = performance.now() - t0;
  const after = (await readAll(s, 'cloud', false)).rate;
  await s.close();
  rows.push([
    `iterate ${(total / 1e6).toFixed(0)} M readings (before delete)`,
    `${Math.round(before).toLocaleString('en')} readings/s`,
    '',
  ]);
  rows.push([
    `iterate the 10% left after deleting 90% (delete + compact ${Math.round(deleteMs)} ms)`,
    `${Math.round(after).toLocaleString('en')} readings/s (time per reading ×${(before / after).toFixed(2)})`,
    'no worse than 2×',
  ]);
  await t.done();
}

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
process.stdout.write(
  `${'measure'.padEnd(w0)} | ${'result (median)'.padEnd(w1)} | goal\n${'-'.repeat(w0)}-|-${'-'.repeat(w1)}-|------\n`,
);
for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c}\n`);
