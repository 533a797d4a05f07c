/**
 * Stuck sensor / flatline: the value has not moved beyond `tolerance` for `span` ms. A frozen
 * transmitter, a PLC serving its last value after losing the field bus, still reads "good".
 *
 * Learning: some signals are legitimately flat for long stretches (a quantised level, a valve
 * position). The detector remembers the longest flat run that ended on its own (decaying slowly)
 * and only calls a run stuck once it is also `runFactor` times longer than that. It says nothing
 * until the point has moved at least `minMoves` times: a value that has never changed is a
 * constant, not a stuck sensor.
 */
import type { Quality } from '../shared/reading.js';
import { ruleFinding, type Finding, type PointDetector } from './detector.js';

export interface FlatlineOptions {
  readonly span: number;
  /** Absolute change (engineering units) that counts as movement; 0 means any change. */
  readonly tolerance: number;
  readonly runFactor: number;
  readonly minMoves: number;
}

export const FLATLINE_DEFAULTS: FlatlineOptions = { span: 600_000, tolerance: 0, runFactor: 4, minMoves: 10 };

const CLEAR = ruleFinding('flatline', null);
const STUCK = ruleFinding('flatline', 'stuck');

export class FlatlineDetector implements PointDetector {
  // On the prototype, not a field: a field costs every point 8 bytes (issue 15).
  get kind(): 'flatline' {
    return 'flatline';
  }
  private anchor = NaN;
  private anchorTs = NaN;
  private lastTs = NaN;
  private moves = 0;
  private longest = 0; // longest normal flat run, ms

  constructor(private readonly o: FlatlineOptions = FLATLINE_DEFAULTS) {}

  tick(): Finding | null {
    return null;
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    if (Number.isNaN(this.anchor) || Math.abs(x - this.anchor) > this.o.tolerance) {
      if (!Number.isNaN(this.anchor)) {
        this.moves++;
        const run = this.lastTs - this.anchorTs;
        // Remember long normal runs; forget them slowly (each move shaves 0.1 %).
        this.longest = Math.max(run, this.longest * 0.999);
      }
      this.anchor = x;
      this.anchorTs = ts;
    }
    this.lastTs = ts;
    if (this.moves < this.o.minMoves) return null;
    const run = ts - this.anchorTs;
    return run >= this.o.span && run >= this.o.runFactor * this.longest ? STUCK : CLEAR;
  }
}
