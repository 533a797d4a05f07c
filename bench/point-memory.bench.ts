/**
 * `node --expose-gc dist/bench/point-memory.bench.js [--quick]` (or `npm run bench -- point-memory`):
 * bytes per point that detection plus aggregates hold at default settings (issue 15: ≤ 4 KB).
 *
 * - Detection: the default detector set of one point (baseline, flatline, missing), warmed up past
 *   its warm-up, as bench/detect.bench.ts measures it.
 * - Aggregates: a RollupEngine with the default windows (1m, 15m, 1h, grace 10 s) fed every point at
 *   1 Hz for a simulated 65 minutes; measured mid-minute (every window length open once: the steady
 *   state) and 2 s after an hour boundary (every length has its closing and its new window open:
 *   the peak).
 * Memory is the JavaScript heap plus ArrayBuffers (typed arrays' storage lives outside the heap),
 * after gc, divided by the number of points. Two signals: "narrow" (a level per point, ±3 % swing
 * and noise, as bench/aggregate.bench.ts) and "wide" (the peers bench's device: 10,000–30,000 in a
 * 6-minute sine, so an hour's sketch spans ~55 buckets). Medians of 3 runs.
 */
import { createPointDetectors } from '../src/detect/build.js';
import type { PointDetector } from '../src/detect/detector.js';
import { parseDetectOptions } from '../src/detect/options.js';
import { optionsFor } from '../src/detect/point-options.js';
import { RollupEngine } from '../src/aggregate/rollup-engine.js';
import type { Reading } from '../src/shared/reading.js';

const quick = process.argv.includes('--quick');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const POINTS = quick ? 500 : 2000;
const T0 = Date.parse('2025-01-15T09:00:00Z');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

type Signal = (i: number, s: number) => number;
const SIGNALS: Record<string, Signal> = {
  narrow: (i, s) => 50 + i + Math.sin(s / 7 + i) * 3 + ((i * 7919 + s) % 13) / 10,
  wide: (i, s) => Math.round(20_000 + 10_000 * Math.sin(s / 60 + i) + ((i * 7919 + s * 31) % 50)),
};

function detection(signal: Signal): number {
  const defaults = optionsFor(parseDetectOptions({}), 'p');
  const keep: PointDetector[][] = new Array(POINTS);
  const before = used();
  for (let i = 0; i < POINTS; i++) {
    const set = createPointDetectors(defaults);
    for (let s = 0; s < 400; s++) for (const d of set) d.update(T0 + s * 1000, signal(i, s), 'good');
    keep[i] = set;
  }
  const after = used();
  if (keep.length !== POINTS) throw new Error('unreachable');
  return (after - before) / POINTS;
}

function aggregates(signal: Signal): { steady: number; peak: number } {
  const before = used();
  const engine = new RollupEngine({
    windows: [60_000, 900_000, 3_600_000],
    grace: 10_000,
    timezone: 'Europe/Amsterdam',
    startedAt: T0,
    maxPoints: POINTS,
  });
  const names = Array.from({ length: POINTS }, (_, i) => `pt-${i}`);
  let steady = 0;
  let peak = 0;
  const seconds = 65 * 60;
  const r = { device: 'dev', point: '', value: 0, ts: 0, quality: 'good' } as {
    -readonly [K in keyof Reading]: Reading[K];
  };
  for (let s = 0; s < seconds; s++) {
    const t = T0 + s * 1000;
    for (let i = 0; i < POINTS; i++) {
      r.point = names[i]!;
      r.value = signal(i, s);
      r.ts = t + 137;
      engine.add(r, t + 200);
    }
    engine.close(t + 200);
    if (s === 59 * 60 + 30) steady = (used() - before) / POINTS;
    if (s === 60 * 60 + 2) peak = (used() - before) / POINTS;
  }
  if (engine.counters.readings === 0) throw new Error('unreachable');
  return { steady, peak };
}

const lines = [
  `bytes per point at default settings (${POINTS} points, median of 3 runs; heap + ArrayBuffers after gc)`,
  '',
];
lines.push(
  `${'signal'.padEnd(8)} ${'detection'.padStart(10)} ${'aggregates (steady)'.padStart(20)} ${'aggregates (peak)'.padStart(18)} ${'sum (steady)'.padStart(13)} ${'sum (peak)'.padStart(11)}`,
);
for (const [name, signal] of Object.entries(SIGNALS)) {
  const d: number[] = [];
  const st: number[] = [];
  const pk: number[] = [];
  for (let run = 0; run < 3; run++) {
    d.push(detection(signal));
    const a = aggregates(signal);
    st.push(a.steady);
    pk.push(a.peak);
  }
  const [dm, sm, pm] = [median(d), median(st), median(pk)].map(Math.round) as [number, number, number];
  lines.push(
    `${name.padEnd(8)} ${String(dm).padStart(10)} ${String(sm).padStart(20)} ${String(pm).padStart(18)} ${String(dm + sm).padStart(13)} ${String(dm + pm).padStart(11)}`,
  );
}
lines.push('', 'goal (issue 15): detection + aggregates ≤ 4,096 bytes per point');
process.stdout.write(`${lines.join('\n')}\n`);
