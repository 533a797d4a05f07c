/** Seeded synthetic signals for the detector tests: deterministic, no fixtures on disk. */
import { FrameDetector } from '../../src/detect/frame.js';
import { parseDetectOptions } from '../../src/detect/options.js';

/** mulberry32: a tiny seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export const T0 = Date.UTC(2024, 0, 1);

/** Runs one column through the default detector stack; returns score and alarm per row. */
export function runSeries(
  values: ArrayLike<number>,
  opts: unknown = {},
  stepMs = 1000,
): { score: Float64Array; alarm: Uint8Array } {
  const det = new FrameDetector(['x'], parseDetectOptions(opts));
  const score = new Float64Array(values.length);
  const alarm = new Uint8Array(values.length);
  const row = new Float64Array(1);
  for (let i = 0; i < values.length; i++) {
    row[0] = values[i]!;
    const r = det.update(T0 + i * stepMs, row);
    score[i] = r.score;
    alarm[i] = r.alarm ? 1 : 0;
  }
  return { score, alarm };
}

export function firstAlarm(alarm: Uint8Array, from = 0): number {
  for (let i = from; i < alarm.length; i++) if (alarm[i]) return i;
  return -1;
}

export function countAlarms(alarm: Uint8Array, from = 0, to = alarm.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if (alarm[i] && !alarm[i - 1]) n++;
  return n;
}

/** AR(1) process noise around a level: a realistic, slightly wandering process value. */
export function processSignal(
  n: number,
  seed: number,
  opts: { level?: number; sd?: number; phi?: number; daily?: number; stepMs?: number } = {},
): Float64Array {
  const g = gaussian(prng(seed));
  const { level = 10, sd = 0.1, phi = 0.5, daily = 0, stepMs = 1000 } = opts;
  const out = new Float64Array(n);
  let ar = 0;
  for (let i = 0; i < n; i++) {
    ar = phi * ar + Math.sqrt(1 - phi * phi) * sd * g();
    const tod = ((i * stepMs) % 86_400_000) / 86_400_000;
    out[i] = level + ar + daily * Math.sin(2 * Math.PI * tod);
  }
  return out;
}
