/**
 * The contract every detector in src/detect/ keeps. Detectors are PURE and STREAMING: they take
 * readings one at a time, in order, keep a fixed amount of state per point (fixed-size rings and
 * histograms, never a growing array), touch no clock, no I/O and no randomness, so the same input
 * always gives the same output and tests need no fakes.
 *
 * Two shapes:
 * - `PointDetector` watches one point: `update()` for each reading (good or bad), `tick()` when time
 *   passes without one (only the missing-data detector cares; silence is a signal).
 * - `RelationDetector` (relation.ts) watches several points read together: `update(ts, values)`.
 *
 * Both return a `Finding` (what the detector thinks of the point now) or `null` when it has no
 * opinion (still warming up, or the reading is bad and the detector only judges good values).
 * A Finding is a snapshot: detectors never mutate one they returned.
 *
 * Scores are CALIBRATED (see calibrate.ts): `p` is the probability that this point, behaving as it
 * has so far, gives something at least this unusual, and the score a fixed function of it:
 * 0.5 means "one in a thousand readings", 0.67 "one in ten thousand", 0.83 "one in a million",
 * 0.93 "one in 10¹²", never quite 1, for a pressure in bar and a current in amps alike. Rule
 * detectors (limits, rate, flatline, missing) give score 1 / p 0 while their rule is broken and
 * score 0 / p 1 otherwise.
 *
 * Turning scores into alarms (on/off delays, minimum score) is not the detector's job: every
 * Finding goes through the same `AlarmPolicy` (policy.ts).
 */
import type { Quality } from '../shared/reading.js';

export type DetectorKind = 'limits' | 'rate' | 'flatline' | 'missing' | 'baseline' | 'relation';

/**
 * What a detector says about the latest reading.
 * `condition` names the rule or statistic behind the score, for the alarm message:
 * limits: 'HH' | 'H' | 'L' | 'LL'; rate: 'rise' | 'fall'; flatline: 'stuck'; missing: 'missing';
 * baseline: 'spike' | 'level' | 'noise'; relation: 'relation'; null when nothing is wrong.
 */
export interface Finding {
  readonly kind: DetectorKind;
  /** Calibrated anomaly score in [0, 1]. */
  readonly score: number;
  /**
   * How rare, in decades: -log10 of the tail probability behind the score, exact where that
   * probability underflows (rules: Infinity when broken). Nothing reads the probability itself,
   * so no finding carries it (issue 15: a Math.pow per finding).
   */
  readonly decades: number;
  readonly condition: string | null;
}

export interface PointDetector {
  readonly kind: DetectorKind;
  /**
   * One reading of the point, in time order. `value` is NaN when there is none; detectors that
   * judge values ignore readings whose quality is not 'good' (they may still note that time passed).
   */
  update(ts: number, value: number, quality: Quality): Finding | null;
  /** Time `ts` has come with no reading. Detectors that ignore time return null. */
  tick(ts: number): Finding | null;
  /** True when tick() can report something: only those are ticked (issue 15: every point, every second). */
  readonly timed?: boolean;
  /**
   * For a timed detector: no tick and no reading stamped before this time can report anything but
   * a score of 0 (a time at or before the first that could; -Infinity when unknown), so a caller
   * may skip those ticks.
   */
  dueAt?(): number;
}

/**
 * The shared "nothing to report" and "rule broken" findings, so rule detectors do not allocate
 * (and the learned baseline, for a reading that scores 0).
 */
export function ruleFinding(kind: DetectorKind, condition: string | null): Finding {
  return Object.freeze({
    kind,
    score: condition === null ? 0 : 1,
    decades: condition === null ? 0 : Infinity,
    condition,
  });
}
