/**
 * Store memory over hours of data: `node --expose-gc dist/bench/store-memory.bench.js [--hours N]`
 * (or `npm run bench -- store-memory`).
 *
 * 20 producers × 50 points commit one batch a second each (1,000 readings/s) as fast as the disk
 * allows, so N hours of a plant's data pass in seconds; resident memory (after a full GC) is
 * printed per hour of data. Two shapes:
 * - production: one sink reads and acks as it goes, so acknowledged records are deleted;
 * - kept: a second cursor that never acks (the chaos soak's `audit` cursor) keeps every record,
 *   so the database only grows.
 * Why: the one-hour chaos soak keeps every record for its judge; this separates what that costs
 * from what the agent costs in the field.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LevelStore } from '../src/store/level-store.js';
import { storeSchema } from '../src/settings/schema.js';
import { silentLogger } from '../src/ops/log.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const { values } = parseArgs({
  options: {
    hours: { type: 'string', default: '6' },
    quick: { type: 'boolean', default: false },
    mode: { type: 'string' },
  },
});
const hours = values.quick ? 2 : Number(values.hours);
const mb = (b: number) => (b / 1048576).toFixed(1);
const gc = (globalThis as { gc?: () => void }).gc;

async function run(keep: boolean): Promise<string[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'halfweg-bench-mem-'));
  const sinks = { cloud: { types: ['readings'] }, ...(keep ? { audit: { types: ['readings'] } } : {}) };
  const store = new LevelStore({
    dir: path.join(root, 'store'),
    config: storeSchema().parse({ sinks }),
    log: silentLogger(),
    retentionInterval: 3_600_000,
  });
  await store.open();
  const devs = simDevices(20);
  const r = rng(3);
  let pos = 0;
  const out: string[] = [];
  try {
    for (let sec = 0; sec < hours * 3600; sec++) {
      await Promise.all(
        devs.map((d) => store.commit({ type: 'readings', batch: simBatch(d, 1.7e12 + sec * 1000, r) })),
      );
      if (sec % 4 === 3) {
        const page = await store.read('cloud', { maxRecords: 1000, after: pos });
        if (page.length) await store.ack('cloud', (pos = page[page.length - 1]!.seq));
      }
      if (sec % 3600 === 3599) {
        gc?.();
        const m = process.memoryUsage();
        out.push(`${mb(m.rss)}/${mb(m.heapUsed)}`);
      }
    }
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

if (values.mode) {
  const row = await run(values.mode === 'kept');
  process.stdout.write(
    `${(values.mode === 'kept' ? 'kept (never acked)' : 'production (acked)').padEnd(20)} ${row.join('  ')}\n`,
  );
} else {
  // Each shape in its own process: memory the allocator kept from one would show in the other.
  process.stdout.write(`store memory: 1,000 readings/s, resident/heap MB after each hour of data (${hours} h)\n`);
  for (const mode of ['production', 'kept']) {
    spawnSync(process.execPath, ['--expose-gc', process.argv[1]!, '--mode', mode, '--hours', String(hours)], {
      stdio: 'inherit',
    });
  }
}
