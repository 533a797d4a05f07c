/**
 * A frame is a set of points read together (a CSV row, one device's poll cycle). FrameDetector
 * runs every point's detector set plus, with two or more points, the relation detector, and
 * reduces them to one score and one alarm per row. `halfweg detect` and the SKAB evaluation use
 * it; the agent will run the same parts per device.
 *
 * Row score: the learnt detectors' p-values (one per point's baseline, one for the relation) are
 * combined with a Bonferroni correction over their number, so the row score keeps the calibrated
 * meaning ("a normal row scores this high with probability ≤ 10^(-6·score)") however many columns
 * there are; a broken rule (limit, rate, stuck, missing) scores 1.
 * Row alarm: the learnt score goes through one AlarmPolicy, each rule detector through its own;
 * the row is in alarm when any of them is active.
 */
import type { Quality } from '../shared/reading.js';
import { combineDecades, scoreOfDecades } from './calibrate.js';
import { createPointDetectors, createRelationDetector } from './build.js';
import type { Finding, PointDetector } from './detector.js';
import type { DetectOptions } from './options.js';
import { optionsFor } from './point-options.js';
import { AlarmPolicy, type PolicyOptions } from './policy.js';
import type { RelationDetector } from './relation.js';

export interface FrameResult {
  /** Calibrated anomaly score of the row, [0, 1]. */
  readonly score: number;
  readonly alarm: boolean;
  /** What drove the score: "<point>:<condition>", null when nothing did. */
  readonly cause: string | null;
  /** While the row is in alarm, what raised it (or drives it now, when stronger): "<point>:<condition>". */
  readonly alarmCause: string | null;
}

export class FrameDetector {
  private readonly sets: PointDetector[][];
  // A rule detector's policy is made the first time its rule is broken: until then it would only
  // ever hold "not in alarm", and most points never break a rule (memory per point, issue 14).
  private readonly rulePolicies: (AlarmPolicy | null)[][];
  private readonly pointPolicy: PolicyOptions[];
  private readonly relation: RelationDetector | null;
  private readonly policy: AlarmPolicy;
  private readonly learnt: number;
  private alarmCause: string | null = null;
  private alarmPeak = 0;

  constructor(
    readonly points: readonly string[],
    opts: DetectOptions,
  ) {
    const per = points.map((p) => optionsFor(opts, p));
    this.sets = per.map((o) => createPointDetectors(o));
    this.rulePolicies = this.sets.map((set) => set.map(() => null));
    this.pointPolicy = per.map((o) => o.policy);
    // The frame-level options (relation, row policy) are the top-level ones.
    const top = optionsFor(opts, '');
    this.relation = createRelationDetector(top, points.length);
    this.policy = new AlarmPolicy(top.policy);
    this.learnt =
      this.sets.reduce((n, set) => n + set.filter((d) => d.kind === 'baseline').length, 0) + (this.relation ? 1 : 0);
  }

  /** One row: `values[i]` belongs to `points[i]`; NaN is a missing value. */
  update(ts: number, values: ArrayLike<number>): FrameResult {
    let maxL = 0;
    let cause: string | null = null;
    let rule: string | null = null;
    let ruleAlarm = false;
    for (let i = 0; i < this.sets.length; i++) {
      const v = values[i]!;
      const q: Quality = Number.isFinite(v) ? 'good' : 'decode';
      const set = this.sets[i]!;
      for (let j = 0; j < set.length; j++) {
        const d = set[j]!;
        const f: Finding | null = d.update(ts, v, q);
        if (f === null) continue;
        if (d.kind === 'baseline') {
          if (f.decades > maxL) (maxL = f.decades), (cause = `${this.points[i]}:${f.condition}`);
        } else {
          if (f.score >= 1 && rule === null) rule = `${this.points[i]}:${f.condition}`;
          let pol = this.rulePolicies[i]![j]!;
          if (pol === null) {
            if (f.score <= 0) continue;
            pol = this.rulePolicies[i]![j] = new AlarmPolicy(this.pointPolicy[i]!);
          }
          pol.update(ts, f);
          if (pol.active) ruleAlarm = true;
        }
      }
    }
    if (this.relation) {
      const f = this.relation.update(ts, values);
      if (f && f.decades > maxL)
        (maxL = f.decades),
          (cause = this.relation.worst >= 0 ? `${this.points[this.relation.worst]}:relation` : 'relation');
    }
    const learntScore = scoreOfDecades(combineDecades(maxL, this.learnt));
    this.policy.updateScore(ts, learntScore);
    const score = rule !== null ? 1 : learntScore;
    const alarm = ruleAlarm || this.policy.active;
    const now = rule ?? (learntScore > 0 ? cause : null);
    if (!alarm) (this.alarmCause = null), (this.alarmPeak = 0);
    else if (now !== null && (this.alarmCause === null || score >= this.alarmPeak))
      (this.alarmCause = now), (this.alarmPeak = score);
    return { score, alarm, cause: now, alarmCause: alarm ? this.alarmCause : null };
  }
}
