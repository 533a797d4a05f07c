/**
 * Runs one generated series through the default detectors (the `halfweg detect` path: one column,
 * every default detector) and counts, after the burn-in, the rows scoring at or above the two
 * levels the promise is checked at.
 */
import { FrameDetector } from '../../src/detect/frame.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import type { Series } from './generators.js';

export const LEVELS = [0.5, 0.67] as const;

export interface Tally {
  rows: number;
  /** Rows scoring ≥ LEVELS[i]. */
  above: number[];
  /** Rows scoring exactly 1 (saturated). */
  ones: number;
  /** Largest score seen, and how many rows share it. */
  max: number;
  atMax: number;
}

export function emptyTally(): Tally {
  return { rows: 0, above: LEVELS.map(() => 0), ones: 0, max: -1, atMax: 0 };
}

/** Counts the rows from `from` on ('burnIn', the promise; 'young', the rows between warm-up and burn-in). */
export function tallySeries(
  s: Series,
  into: Tally = emptyTally(),
  opts: unknown = {},
  part: 'mature' | 'young' = 'mature',
): Tally {
  const det = new FrameDetector(['x'], parseDetectOptions(opts));
  const row = new Float64Array(1);
  for (let i = 0; i < s.values.length; i++) {
    row[0] = s.values[i]!;
    const r = det.update(s.ts[i]!, row);
    if (part === 'mature' ? i < s.burnIn : i < s.young || i >= s.burnIn) continue;
    into.rows++;
    for (let k = 0; k < LEVELS.length; k++) if (r.score >= LEVELS[k]!) into.above[k]!++;
    if (r.score >= 1) into.ones++;
    if (r.score > into.max) (into.max = r.score), (into.atMax = 1);
    else if (r.score === into.max) into.atMax++;
  }
  return into;
}
