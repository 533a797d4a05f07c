/**
 * `node --expose-gc dist/bench/detect.bench.js [--quick]`: cost of the detectors per reading per
 * point and their memory per point, for the default set (learned baseline, stuck sensor, missing
 * data) and the full single-point set (plus limits and rate of change), the relation detector
 * alone, and whole groups of 10, 100, 1,000 and 5,000 points read together (every point's default
 * detectors plus the relation detector, as a poll group runs them). Median of several runs.
 * Goals (issue 14): < 5 µs per reading per point, < 4 KB per point, at any group size. Memory
 * counts the JavaScript heap and the typed arrays' buffers (which live outside it). Garbage is what
 * the detectors allocate per reading per point past the warm-up, collected or not (V8's sampling
 * heap profiler, every 512 bytes on average): at 5,000 points a second each byte of it is 5 KB/s
 * for the collector (issue 15).
 */
import inspector from 'node:inspector';
import { createPointDetectors, createRelationDetector } from '../src/detect/build.js';
import type { PointDetector } from '../src/detect/detector.js';
import { parseDetectOptions } from '../src/detect/options.js';
import { defaultDetectOptions, optionsFor } from '../src/detect/point-options.js';
import { FrameDetector } from '../src/detect/frame.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;
const READINGS = quick ? 200_000 : 1_000_000;
const POINTS_FOR_MEMORY = quick ? 2_000 : 10_000;
const gc = (globalThis as { gc?: () => void }).gc;

const defaults = optionsFor(parseDetectOptions({}), 'p');
const full = optionsFor(
  parseDetectOptions({
    rate: { span: '1m', maxRise: 5, maxFall: 5 },
    points: { p: { limits: { hh: 3, h: 2, l: -2, ll: -3, deadband: 0.1 } } },
  }),
  'p',
);

// A cheap deterministic noisy signal (LCG), precomputed so the benchmark times the detectors.
const SIGNAL = new Float64Array(65_536);
let seed = 12345;
for (let i = 0; i < SIGNAL.length; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  SIGNAL[i] = Math.sin(i / 500) + (seed / 4294967296 - 0.5);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Readings `from` to `to` (exclusive) of the signal, one a second, into one point's detector set. */
function feedPoint(set: PointDetector[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = SIGNAL[i & 65_535]!;
    for (let j = 0; j < set.length; j++) set[j]!.update(1_700_000_000_000 + i * 1000, v, 'good');
  }
}

/** Rows `from` to `to` (exclusive), one a second, into a group of `row.length` points. */
function feedRows(det: FrameDetector, row: Float64Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    for (let j = 0; j < row.length; j++) row[j] = SIGNAL[(i + j * 977) & 65_535]!;
    det.update(1_700_000_000_000 + i * 1000, row);
  }
}

function timePoint(make: () => PointDetector[]): number {
  const set = make();
  const t0 = process.hrtime.bigint();
  feedPoint(set, 0, READINGS);
  return Number(process.hrtime.bigint() - t0) / READINGS / 1000; // µs per reading
}

function timeRelation(k: number): number {
  const rel = createRelationDetector(defaults, k)!;
  const row = new Float64Array(k);
  const n = READINGS / 4;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) row[j] = SIGNAL[(i + j * 977) & 65_535]!;
    rel.update(1_700_000_000_000 + i * 1000, row);
  }
  return Number(process.hrtime.bigint() - t0) / n / 1000 / k; // µs per reading per point
}

/** A group of `k` points read together, as `halfweg detect` and a poll group run it: every point's
 * default detectors plus the relation detector over the group. Rows past warm-up. */
function group(k: number): FrameDetector {
  const det = new FrameDetector(
    Array.from({ length: k }, (_, i) => `p${i}`),
    defaultDetectOptions(),
  );
  feedRows(det, new Float64Array(k), 0, 400);
  return det;
}

/**
 * Bytes allocated per reading per point while `run` runs (it returns how many readings it gave):
 * the sampling heap profiler, collected objects included. The session answers synchronously.
 */
function allocated(run: () => number): number {
  const session = new inspector.Session();
  session.connect();
  let bytes = Number.NaN;
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const readings = run();
  session.post('HeapProfiler.stopSampling', (err, res) => {
    if (!err) bytes = selfSizes(res.profile.head);
  });
  session.disconnect();
  return bytes / readings;
}

function selfSizes(node: inspector.HeapProfiler.SamplingHeapProfileNode): number {
  return node.children.reduce((n, c) => n + selfSizes(c), node.selfSize);
}

/** Readings of one warmed-up detector set, for allocated(). */
function pointReadings(make: () => PointDetector[]): () => number {
  const set = warmed(make)();
  return () => {
    const n = READINGS / 4;
    feedPoint(set, 400, 400 + n);
    return n;
  };
}

/** Rows of a warmed-up group of `k`, for allocated() (readings: rows × k). */
function groupReadings(k: number): () => number {
  const det = group(k);
  const row = new Float64Array(k);
  return () => {
    const rows = Math.max(50, Math.round(READINGS / 4 / k));
    feedRows(det, row, 400, 400 + rows);
    return rows * k;
  };
}

function timeGroup(k: number): number {
  const det = group(k);
  const row = new Float64Array(k);
  const rows = Math.max(200, Math.round(READINGS / k));
  const t0 = process.hrtime.bigint();
  feedRows(det, row, 400, 400 + rows);
  return Number(process.hrtime.bigint() - t0) / rows / 1000 / k;
}

function memoryPerPoint(make: () => unknown, count = POINTS_FOR_MEMORY): number {
  if (!gc) return NaN;
  const keep: unknown[] = new Array(count);
  gc();
  gc();
  const b0 = process.memoryUsage();
  const before = b0.heapUsed + b0.arrayBuffers;
  for (let i = 0; i < count; i++) keep[i] = make();
  gc();
  gc();
  const a0 = process.memoryUsage();
  const after = a0.heapUsed + a0.arrayBuffers;
  if (keep.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

/** Warmed-up detector sets (past warm-up, histograms populated) so memory is the steady state. */
function warmed(make: () => PointDetector[]): () => PointDetector[] {
  return () => {
    const set = make();
    feedPoint(set, 0, 400);
    return set;
  };
}

const cases: { name: string; cost: () => number; mem: () => number; garbage?: () => number }[] = [
  {
    name: 'default set (baseline+flatline+missing)',
    cost: () => timePoint(() => createPointDetectors(defaults)),
    mem: () => memoryPerPoint(warmed(() => createPointDetectors(defaults))),
    garbage: () => allocated(pointReadings(() => createPointDetectors(defaults))),
  },
  {
    name: 'full set (+limits+rate)',
    cost: () => timePoint(() => createPointDetectors(full)),
    mem: () => memoryPerPoint(warmed(() => createPointDetectors(full))),
    garbage: () => allocated(pointReadings(() => createPointDetectors(full))),
  },
  {
    name: 'relation alone, 8 points (per point)',
    cost: () => timeRelation(8),
    mem: () => memoryPerPoint(() => createRelationDetector(defaults, 8)) / 8,
  },
  ...[10, 100, 1000, 5000].map((k) => ({
    name: `group of ${k}: every detector + relation`,
    cost: () => timeGroup(k),
    mem: () => memoryPerPoint(() => group(k), Math.max(2, Math.round(POINTS_FOR_MEMORY / k))) / k,
    garbage: () => allocated(groupReadings(k)),
  })),
];

if (!gc) process.stderr.write('run with --expose-gc for memory figures\n');
const lines = [
  `detectors: ${READINGS.toLocaleString('en')} readings per run, median of ${RUNS} runs${quick ? ' (quick)' : ''}`,
  '',
  `${'set'.padEnd(42)} ${'µs/reading/point'.padStart(17)} ${'bytes/point'.padStart(12)} ${'garbage B/reading'.padStart(18)}`,
];
for (const c of cases) {
  const costs: number[] = [];
  const mems: number[] = [];
  const garbage: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    costs.push(c.cost());
    mems.push(c.mem());
    if (c.garbage) garbage.push(c.garbage());
  }
  const cell = (xs: number[], width: number) =>
    xs.length === 0 || Number.isNaN(median(xs))
      ? '-'.padStart(width)
      : Math.round(median(xs)).toString().padStart(width);
  lines.push(`${c.name.padEnd(42)} ${median(costs).toFixed(3).padStart(17)} ${cell(mems, 12)} ${cell(garbage, 18)}`);
}
lines.push('', 'goals (issue 14): < 5 µs per reading per point, < 4096 bytes per point');
process.stdout.write(`${lines.join('\n')}\n`);
