/**
 * The relation detector (src/detect/relation.ts) for one frame: the points one device reports
 * together in a batch (one Modbus poll group, one serial frame), behind its own AlarmPolicy like
 * every point detector. The alarm is `<device>/<frame>/relation`, where the frame is named after
 * the poll group of its points (`boiler-1/fast/relation`), or `frame` when that is unknown.
 *
 * Hot path: `matches()` and `update()` allocate nothing; the row buffer is reused.
 */
import { createRelationDetector } from '../detect/build.js';
import type { Finding } from '../detect/detector.js';
import type { PointDetectOptions } from '../detect/options.js';
import { AlarmPolicy, type AlarmChange } from '../detect/policy.js';
import type { RelationDetector } from '../detect/relation.js';
import type { Reading } from '../shared/reading.js';

export class FrameWatch {
  private readonly row: Float64Array;
  private readonly policy: AlarmPolicy;

  private constructor(
    readonly id: string,
    readonly points: readonly string[],
    private readonly detector: RelationDetector | null,
    options: PointDetectOptions,
  ) {
    this.row = new Float64Array(points.length);
    this.policy = new AlarmPolicy(options.policy);
  }

  /** A watch for these readings' points; inert (it only remembers the points) when the relation detector is disabled. */
  static create(id: string, readings: readonly Reading[], options: PointDetectOptions): FrameWatch {
    return new FrameWatch(
      id,
      readings.map((r) => r.point),
      createRelationDetector(options, readings.length),
      options,
    );
  }

  get enabled(): boolean {
    return this.detector !== null;
  }

  matches(readings: readonly Reading[]): boolean {
    if (readings.length !== this.points.length) return false;
    for (let i = 0; i < readings.length; i++) if (readings[i]!.point !== this.points[i]) return false;
    return true;
  }

  /** One row; reports the finding and the policy's change (if any) through `out`. */
  update(
    ts: number,
    readings: readonly Reading[],
    out: (ts: number, f: Finding, change: AlarmChange | null, active: boolean) => void,
  ): void {
    if (this.detector === null) return;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      this.row[i] = r.quality === 'good' ? r.value : NaN;
    }
    const f = this.detector.update(ts, this.row);
    if (f === null) return;
    const change = this.policy.update(ts, f);
    out(ts, f, change, this.policy.active);
  }

  /** See PointWatch.prime: for a relation alarm restored active. */
  prime(ts: number, condition: string | null): void {
    const p = this.policy;
    for (let n = 0; !p.active && n <= p.o.onCount + 1; n++)
      p.updateScore(n === 0 ? ts - p.o.onDelay : ts, 1, condition);
  }
}
