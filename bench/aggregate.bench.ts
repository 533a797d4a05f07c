/**
 * Aggregation benchmark: `node --expose-gc dist/bench/aggregate.bench.js [--quick]`
 * (or `npm run bench -- aggregate`).
 *
 * - CPU: 1,000 points (20 devices × 50) at 1 Hz for a simulated hour (quick: 10 minutes), windows
 *   1 min, 15 min, 1 h, Europe/Amsterdam. Timed: RollupEngine.add for every reading plus the
 *   close() tick every simulated second and the encoding of each closed window (what the stage
 *   does per record). Not timed: building the reading objects (the sources' cost).
 * - Memory per point: heap plus ArrayBuffers (the sketches' counters are typed arrays) after gc
 *   with every window open and full (end of minute 59 of the hour) minus the same before the
 *   engine existed, divided by points.
 * - Record size: JSON bytes of one 1-minute rollup record for 1,000 points, and deflated.
 * Medians of 3 runs.
 */
import { deflateRawSync } from 'node:zlib';
import { RollupEngine } from '../src/aggregate/rollup-engine.js';
import { rollupPayload } from '../src/aggregate/rollup-record.js';
import type { Reading } from '../src/shared/reading.js';

const quick = process.argv.includes('--quick');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with --expose-gc for the memory figures');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const DEVICES = 20;
const POINTS_PER_DEVICE = 50;
const POINTS = DEVICES * POINTS_PER_DEVICE;
const SECONDS = quick ? 600 : 3600;
const T0 = Date.parse('2025-01-15T09:00:00Z'); // 10:00 CET, on an hour boundary
const TZ = 'Europe/Amsterdam';

function secondOf(t: number, phase: number): Reading[] {
  const out: Reading[] = new Array(POINTS);
  for (let d = 0; d < DEVICES; d++) {
    for (let p = 0; p < POINTS_PER_DEVICE; p++) {
      const i = d * POINTS_PER_DEVICE + p;
      // A level per point with noise and drift; 1 in 500 readings bad.
      const v = 50 + i + Math.sin(t / 7000 + i) * 3 + ((i * 7919 + t / 1000) % 13) / 10;
      out[i] = {
        device: `dev-${d}`,
        point: `pt-${p}`,
        value: v,
        ts: t + phase,
        quality: (t / 1000 + i) % 500 === 0 ? 'timeout' : 'good',
      };
    }
  }
  return out;
}

interface Run {
  usPer1000: number;
  bytesPerPoint: number;
  recordBytes: number;
  recordDeflated: number;
}

function run(): Run {
  gc?.();
  const base = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const engine = new RollupEngine({
    windows: [60_000, 900_000, 3_600_000],
    grace: 10_000,
    timezone: TZ,
    startedAt: T0,
  });
  let ms = 0;
  let readings = 0;
  let bytesPerPoint = 0;
  let recordBytes = 0;
  let recordDeflated = 0;
  for (let s = 0; s < SECONDS; s++) {
    const t = T0 + s * 1000;
    const batch = secondOf(t, 137);
    const t0 = performance.now();
    for (const r of batch) engine.add(r, t + 200);
    const closed = engine.close(t + 200);
    const payloads = closed.map((w) => rollupPayload(w, TZ));
    ms += performance.now() - t0;
    readings += batch.length;
    if (recordBytes === 0) {
      const one = payloads.find((p) => p.window === '1m');
      if (one) {
        const json = JSON.stringify(one);
        recordBytes = json.length;
        recordDeflated = deflateRawSync(json).length;
      }
    }
    if (s === SECONDS - 2) {
      // Every window length open and holding its fullest state.
      gc?.();
      bytesPerPoint = (process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - base) / POINTS;
    }
  }
  return { usPer1000: (ms * 1000) / (readings / 1000), bytesPerPoint, recordBytes, recordDeflated };
}

const runs: Run[] = [];
for (let i = 0; i < 3; i++) runs.push(run());
const rows: [string, string][] = [
  ['points × rate × duration', `${POINTS} × 1 Hz × ${SECONDS / 60} min (windows 1m, 15m, 1h)`],
  ['CPU per 1,000 readings (median of 3)', `${median(runs.map((r) => r.usPer1000)).toFixed(0)} µs`],
  ['CPU per reading', `${(median(runs.map((r) => r.usPer1000)) / 1000).toFixed(2)} µs`],
  [
    'memory per point (heap + ArrayBuffers after gc, all windows open)',
    gc ? `${(median(runs.map((r) => r.bytesPerPoint)) / 1024).toFixed(2)} KiB` : 'n/a (no --expose-gc)',
  ],
  ['1m rollup record, 1,000 points: JSON', `${(median(runs.map((r) => r.recordBytes)) / 1024).toFixed(1)} KiB`],
  ['1m rollup record, 1,000 points: deflated', `${(median(runs.map((r) => r.recordDeflated)) / 1024).toFixed(1)} KiB`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`| ${'measure'.padEnd(w)} | value |`);
console.log(`|${'-'.repeat(w + 2)}|-------|`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
