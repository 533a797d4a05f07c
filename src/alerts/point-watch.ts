/**
 * One point's detectors, each behind its own AlarmPolicy (src/detect/policy.ts): the single path
 * by which every detector's findings become alarm conditions, so limits, rates, stuck sensors,
 * dropouts and learned scores raise and clear the same way (on/off delays and counts, hysteresis).
 *
 * Hot path: `update()` runs for every reading; it allocates nothing and reports through a
 * callback only when a detector has an opinion.
 */
import { createPointDetectors } from '../detect/build.js';
import type { DetectorKind, Finding, PointDetector } from '../detect/detector.js';
import type { PointDetectOptions } from '../detect/options.js';
import { AlarmPolicy, type AlarmChange } from '../detect/policy.js';
import type { Quality } from '../shared/reading.js';

/**
 * Called for every finding: `change` is the policy's raise/clear (null when the condition did not
 * change), `active` whether the policy is in alarm after this finding. One handler serves every
 * point (the watch says which): no closure per point (issue 15: memory per point).
 */
export type FindingSink = (
  watch: PointWatch,
  slot: number,
  ts: number,
  f: Finding,
  change: AlarmChange | null,
  active: boolean,
) => void;

export class PointWatch {
  readonly detectors: readonly PointDetector[];
  // A detector's policy is made when its first alarm-worthy finding arrives: until then it could
  // only ever say "not in alarm", and most points of a big device never get one (memory per point).
  private readonly policies: (AlarmPolicy | null)[];
  private readonly policyOptions: PointDetectOptions['policy'];
  /** Slots of the detectors time can make report (PointDetector.timed); the others are not ticked. */
  private readonly timed: readonly number[];
  /** The point's latest value, NaN when the last reading had none. */
  lastValue = NaN;

  constructor(
    readonly device: string,
    readonly point: string,
    options: PointDetectOptions,
  ) {
    this.detectors = createPointDetectors(options);
    this.policies = this.detectors.map(() => null);
    this.timed = this.detectors.flatMap((d, i) => (d.timed ? [i] : []));
    this.policyOptions = options.policy;
  }

  get kinds(): DetectorKind[] {
    return this.detectors.map((d) => d.kind);
  }

  update(ts: number, value: number, quality: Quality, out: FindingSink): void {
    this.lastValue = quality === 'good' ? value : NaN;
    for (let i = 0; i < this.detectors.length; i++) {
      const f = this.detectors[i]!.update(ts, value, quality);
      if (f !== null) this.feed(i, ts, f, out);
    }
  }

  tick(ts: number, out: FindingSink): void {
    for (const i of this.timed) {
      const f = this.detectors[i]!.tick(ts);
      if (f !== null) this.feed(i, ts, f, out);
    }
  }

  /**
   * The earliest time a tick of this point can do anything: before it, every timed detector
   * finds nothing (PointDetector.dueAt) and has no policy to feed that, so feed() would only hand
   * `out` a score below the policy's minimum with no change. -Infinity once a timed detector has a
   * policy (its on- and off-delays need every tick); Infinity without timed detectors.
   */
  tickDue(): number {
    let due = Infinity;
    for (const i of this.timed) {
      if (this.policies[i] !== null) return -Infinity;
      const d = this.detectors[i]!.dueAt?.() ?? -Infinity;
      if (d < due) due = d;
    }
    return due;
  }

  private feed(i: number, ts: number, f: Finding, out: FindingSink): void {
    let p = this.policies[i]!;
    if (p === null) {
      if (f.score < this.policyOptions.minScore) {
        out(this, i, ts, f, null, false);
        return;
      }
      p = this.policies[i] = new AlarmPolicy(this.policyOptions);
    }
    const change = p.update(ts, f);
    out(this, i, ts, f, change, p.active);
  }

  /**
   * Puts detector `slot`'s policy in alarm without a detector having said so: for an alarm that
   * was active when the agent stopped (restored from the state file). Detectors restart with no
   * memory, so without this a condition that is gone by now would never produce the policy's
   * "clear" and the restored alarm would stay active for ever; with it, the first clean findings
   * clear it through the normal off-delay. AlarmPolicy has no setter, so it is driven to active
   * with findings of score 1 spread over its on-delay, ending at `ts`.
   */
  prime(slot: number, ts: number, condition: string | null): void {
    const p = (this.policies[slot] ??= new AlarmPolicy(this.policyOptions));
    const { onDelay, onCount } = p.o;
    for (let n = 0; !p.active && n <= onCount + 1; n++) p.updateScore(n === 0 ? ts - onDelay : ts, 1, condition);
  }
}
