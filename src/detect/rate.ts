/**
 * Rate of change over a time span: fires when the value rose by more than `maxRise` or fell by
 * more than `maxFall` (engineering units) within `span` ms. Comparing across a span rather than
 * reading to reading means the rule does not depend on the poll interval and a single noisy
 * reading does not trip it.
 *
 * State: a ring of `SLOTS` (time, value) samples kept at least span/(SLOTS-1) apart, so the
 * oldest one is about one span old whatever the poll rate; the change is measured against the
 * newest sample at least `span` old (or the oldest kept) and scaled to the span.
 */
import type { Quality } from '../shared/reading.js';
import { ruleFinding, type Finding, type PointDetector } from './detector.js';

export interface RateOptions {
  readonly span: number;
  readonly maxRise?: number | undefined;
  readonly maxFall?: number | undefined;
}

const SLOTS = 17;
const CLEAR = ruleFinding('rate', null);
const RISE = ruleFinding('rate', 'rise');
const FALL = ruleFinding('rate', 'fall');

export class RateDetector implements PointDetector {
  // On the prototype, not a field: a field costs every point 8 bytes (issue 15).
  get kind(): 'rate' {
    return 'rate';
  }
  private readonly ts = new Float64Array(SLOTS);
  private readonly vs = new Float64Array(SLOTS);
  private head = 0; // index of the newest sample
  private count = 0;
  private readonly gap: number;

  constructor(private readonly o: RateOptions) {
    this.gap = o.span / (SLOTS - 1);
  }

  static useful(o: Partial<RateOptions> | undefined): boolean {
    return !!o && (o.maxRise !== undefined || o.maxFall !== undefined);
  }

  tick(): Finding | null {
    return null;
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    let result: Finding | null = null;
    if (this.count > 0) {
      // Newest stored sample that is at least one span old, else the oldest stored.
      let idx = -1;
      for (let i = 0; i < this.count; i++) {
        const j = (this.head - i + SLOTS) % SLOTS;
        idx = j;
        if (ts - this.ts[j]! >= this.o.span) break;
      }
      const dt = ts - this.ts[idx]!;
      if (dt > 0) {
        // Scale to the span only when the history is longer than it (never extrapolate up).
        const change = (x - this.vs[idx]!) * (dt > this.o.span ? this.o.span / dt : 1);
        if (this.o.maxRise !== undefined && change > this.o.maxRise) result = RISE;
        else if (this.o.maxFall !== undefined && -change > this.o.maxFall) result = FALL;
        else result = CLEAR;
      }
    }
    if (this.count === 0 || ts - this.ts[this.head]! >= this.gap) {
      this.head = (this.head + 1) % SLOTS;
      this.ts[this.head] = ts;
      this.vs[this.head] = x;
      if (this.count < SLOTS) this.count++;
    }
    return result;
  }
}
