import type { Random } from './random.js';

/**
 * Faults the simulator can inject, as data, and what each does to a value. Pure.
 *
 *   spike    adds `magnitude` for the whole window (a short one is a spike; a bit is inverted)
 *   drift    adds a ramp from 0 to `magnitude` across the window, then the value snaps back
 *   stuck    freezes the value it had when the window opened (a flatline, noise and all)
 *   noise    adds Gaussian noise with standard deviation `magnitude` (a bit chatters)
 *   dropout  the device stops answering: requests get no response (always the whole device)
 *
 * A window is [start, start + duration), in milliseconds after the simulator started.
 */
export const FAULT_KINDS = ['spike', 'drift', 'stuck', 'noise', 'dropout'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A magnitude in the point's engineering units, or (relative) a fraction of the point's range. */
export interface Magnitude {
  readonly value: number;
  readonly relative: boolean;
}

export interface Fault {
  readonly kind: FaultKind;
  /** Point name, or null for every point. */
  readonly point: string | null;
  readonly start: number;
  readonly duration: number;
  readonly magnitude: Magnitude;
}

/** Defaults when a fault leaves them out. */
export const DEFAULT_DURATION: Record<FaultKind, number> = {
  spike: 1000,
  drift: 60_000,
  stuck: 30_000,
  noise: 10_000,
  dropout: 10_000,
};
export const DEFAULT_MAGNITUDE: Record<FaultKind, Magnitude> = {
  spike: { value: 0.2, relative: true },
  drift: { value: 0.1, relative: true },
  stuck: { value: 0, relative: false },
  noise: { value: 0.05, relative: true },
  dropout: { value: 0, relative: false },
};

export function isActive(fault: Fault, t: number): boolean {
  return t >= fault.start && t < fault.start + fault.duration;
}

export function appliesTo(fault: Fault, point: string): boolean {
  return fault.point === null || fault.point === point;
}

/**
 * Value of a point at `t` (ms since start) under the active non-stuck faults. `span` turns a
 * relative magnitude into units; `isBit` makes spike invert and noise chatter. `rng` is a stream
 * used for nothing else, so faults never shift the physics' random sequence.
 */
export function disturb(
  faults: readonly Fault[],
  point: string,
  isBit: boolean,
  span: number,
  t: number,
  value: number,
  rng: Random,
): number {
  let v = value;
  for (const f of faults) {
    if (f.kind === 'stuck' || f.kind === 'dropout' || !appliesTo(f, point) || !isActive(f, t)) continue;
    const m = f.magnitude.relative ? f.magnitude.value * span : f.magnitude.value;
    if (isBit) {
      if (f.kind === 'spike') v = v ? 0 : 1;
      else if (f.kind === 'noise' && rng.next() < 0.5) v = v ? 0 : 1;
      continue;
    }
    if (f.kind === 'spike') v += m;
    else if (f.kind === 'drift') v += (m * (t - f.start)) / f.duration;
    else if (f.kind === 'noise') v += m * rng.gauss();
  }
  return v;
}

/** One line per fault for logs and the startup line: `spike drum_pressure @30s +5s *3`. */
export function describeFault(f: Fault): string {
  const mag =
    f.kind === 'stuck' || f.kind === 'dropout'
      ? ''
      : ` *${f.magnitude.relative ? `${+(f.magnitude.value * 100).toFixed(6)}%` : f.magnitude.value}`;
  return `${f.kind} ${f.point ?? 'all'} @${f.start / 1000}s +${f.duration / 1000}s${mag}`;
}
