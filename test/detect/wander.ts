/**
 * A second synthetic family, unlike processSignal (stationary AR(1) around a fixed level): a slow
 * random walk (the plant's own wander: a temperature following the weather, a level following
 * demand) plus AR(1) sensor noise, quantised like a 16-bit transmitter, at a chosen sampling
 * interval. Faults injected on top: a level shift of `shift` noise σ and a sensor freeze (the
 * value held) — what a false alarm per day and a detection delay are measured on.
 */
import { gaussian, prng } from './synthetic.js';

export interface WanderOptions {
  readonly stepMs: number;
  readonly days: number;
  /** Random-walk step σ per hour, in noise σ. */
  readonly wanderPerHour?: number;
  readonly phi?: number;
  readonly seed: number;
}

/** Noise σ is 1 (then scaled by 0.05 around 20); the walk's σ per reading follows from per hour. */
export function wanderSignal(o: WanderOptions): Float64Array {
  const g = gaussian(prng(o.seed));
  const n = Math.round((o.days * 86_400_000) / o.stepMs);
  const phi = o.phi ?? 0.7;
  const perReading = (o.wanderPerHour ?? 2) * Math.sqrt(o.stepMs / 3_600_000);
  const out = new Float64Array(n);
  let walk = 0;
  let ar = 0;
  for (let i = 0; i < n; i++) {
    walk += perReading * g();
    ar = phi * ar + Math.sqrt(1 - phi * phi) * g();
    out[i] = Math.round((20 + 0.05 * (walk + ar)) / 0.001) * 0.001; // 1 mK resolution
  }
  return out;
}

export const NOISE_SD = 0.05;
