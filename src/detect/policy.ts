/**
 * The one policy that turns any detector's Finding into an alarm condition, so limits, rates,
 * stuck sensors, dropouts and learned scores all raise and clear alarms the same way.
 *
 * - raise: the score has been ≥ `minScore` for `onDelay` ms and `onCount` findings in a row;
 * - clear: the score has been < `clearScore` (hysteresis, ≤ minScore) for `offDelay` ms and
 *   `offCount` findings in a row.
 * A null finding (no opinion) changes nothing. Pure: time comes from the findings' timestamps.
 *
 * Example, minScore 0.67, onCount 3: scores 0.7, 0.8, 0.2, 0.7, 0.7, 0.9 raise the alarm on the
 * sixth reading (the 0.2 restarted the count).
 */
import type { Finding } from './detector.js';

export interface PolicyOptions {
  readonly minScore: number;
  readonly clearScore: number;
  readonly onDelay: number;
  readonly offDelay: number;
  readonly onCount: number;
  readonly offCount: number;
}

export interface AlarmChange {
  readonly active: boolean;
  readonly ts: number;
  /** Highest score seen while the condition was building or active. */
  readonly peak: number;
  readonly condition: string | null;
}

export class AlarmPolicy {
  private on = false;
  private since = NaN; // ts of the first finding on the other side of the threshold
  private count = 0;
  private peak = 0;
  private condition: string | null = null;

  constructor(readonly o: PolicyOptions) {}

  get active(): boolean {
    return this.on;
  }

  /** Feeds one finding; returns the change when the alarm is raised or cleared, else null. */
  update(ts: number, f: Finding | null): AlarmChange | null {
    if (f === null) return null;
    return this.updateScore(ts, f.score, f.condition);
  }

  updateScore(ts: number, score: number, condition: string | null = null): AlarmChange | null {
    const crossing = this.on ? score < this.o.clearScore : score >= this.o.minScore;
    if (!this.on && score >= this.o.minScore && score >= this.peak) {
      this.peak = score;
      this.condition = condition;
    }
    if (this.on && score > this.peak) this.peak = score;
    if (!crossing) {
      this.since = NaN;
      this.count = 0;
      if (!this.on) this.peak = 0;
      return null;
    }
    if (Number.isNaN(this.since)) this.since = ts;
    this.count++;
    const delay = this.on ? this.o.offDelay : this.o.onDelay;
    const need = this.on ? this.o.offCount : this.o.onCount;
    if (ts - this.since < delay || this.count < need) return null;
    this.on = !this.on;
    this.since = NaN;
    this.count = 0;
    const change: AlarmChange = { active: this.on, ts, peak: this.peak, condition: this.condition };
    if (!this.on) {
      this.peak = 0;
      this.condition = null;
    }
    return change;
  }
}
