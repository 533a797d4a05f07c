/**
 * Local history reads (issue 18.4): `node dist/bench/history.bench.js`.
 *
 * An hour of 2 devices × 20 points at 1 Hz (7,200 reading batches, 144,000 readings) kept as local
 * history; then one point's hour (`readPoint`) and one device's hour, every point in one pass
 * (`readPoints(device, null)`). Medians of 5 runs. The store decodes every batch in the time range
 * whatever is asked, so a device's 20 points cost about what one point costs: a page should read
 * a device at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LevelStore } from '../src/store/level-store.js';
import { storeSchema } from '../src/settings/schema.js';
import { silentLogger } from '../src/ops/log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-history-bench-'));
let mono = 0;
const T0 = 1_767_225_600_000;
const store = new LevelStore({
  dir: path.join(dir, 'store'),
  config: storeSchema().parse({ keepReadings: '24h', sinks: { controlRoom: { types: ['alarm'] } } }),
  log: silentLogger(),
  clock: { now: () => T0, monotonic: () => mono },
  retentionInterval: 3_600_000,
});
await store.open();
for (let i = 0; i < 3600; i++) {
  mono = i * 1000;
  const ts = T0 + i * 1000;
  await Promise.all(
    ['boiler-1', 'genset-1'].map((device) =>
      store.commit({
        type: 'readings',
        batch: {
          device,
          ts,
          readings: Array.from({ length: 20 }, (_, j) => ({
            device,
            point: `p${j}`,
            value: Math.sin(i / 60 + j),
            ts,
            quality: 'good' as const,
          })),
        },
      }),
    ),
  );
}

async function median(run: () => Promise<number>): Promise<{ ms: number; n: number }> {
  const times: number[] = [];
  let n = 0;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    n = await run();
    times.push(performance.now() - t);
  }
  return { ms: times.sort((a, b) => a - b)[2]!, n };
}

const range = { from: T0, to: T0 + 3_600_000 };
const one = await median(async () => (await store.readPoint('boiler-1', 'p3', range)).length);
const all = await median(async () =>
  [...(await store.readPoints('boiler-1', null, range)).values()].reduce((a, v) => a + v.length, 0),
);
console.log(`readPoint, one point, 1 h:             ${one.n} readings, median ${one.ms.toFixed(0)} ms`);
console.log(`readPoints(device, null), 20 points, 1 h: ${all.n} readings, median ${all.ms.toFixed(0)} ms`);
await store.close();
rmSync(dir, { recursive: true, force: true });
