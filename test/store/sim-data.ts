/**
 * Simulator-like reading batches: 50-point devices polled at 1 Hz, each point a 16-bit register
 * around its own level with noise, scaled by 0.1 the way the Modbus codec does (raw × scale).
 */
import type { Quality, ReadingBatch } from '../../src/shared/reading.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export interface SimDevice {
  readonly name: string;
  readonly points: readonly string[];
  readonly levels: readonly number[];
}

export function simDevices(count: number, points = 50, seed = 1): SimDevice[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, d) => ({
    name: `boiler-${d + 1}`,
    points: Array.from({ length: points }, (_, p) => `point_${p + 1}`),
    levels: Array.from({ length: points }, () => Math.floor(r() * 3000)),
  }));
}

export function simBatch(dev: SimDevice, ts: number, r: () => number, badRate = 0): ReadingBatch {
  return {
    device: dev.name,
    ts,
    readings: dev.points.map((point, i) => {
      const bad = badRate > 0 && r() < badRate;
      const raw = Math.max(0, Math.min(65535, dev.levels[i]! + Math.round((r() - 0.5) * 40)));
      return {
        device: dev.name,
        point,
        value: bad ? NaN : raw * 0.1,
        ts,
        quality: (bad ? 'timeout' : 'good') as Quality,
      };
    }),
  };
}
