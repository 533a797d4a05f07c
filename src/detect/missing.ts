/**
 * Missing data: no good reading for a time span. Driven by time as well as by readings: the
 * caller ticks it (every poll cycle, or every second) and silence alone raises it; bad readings
 * (timeouts, decode errors) count as silence.
 *
 * Span: `span` ms when given, otherwise `factor` times the typical interval between readings
 * (learnt as an average of the intervals), but at least `minSpan`. Nothing is said before the
 * first good reading: a point that never answered is a configuration problem, not a dropout.
 */
import type { Quality } from '../shared/reading.js';
import { ruleFinding, type Finding, type PointDetector } from './detector.js';

export interface MissingOptions {
  /** Fixed span in ms; undefined learns it from the reading interval. */
  readonly span?: number | undefined;
  readonly factor: number;
  readonly minSpan: number;
}

export const MISSING_DEFAULTS: MissingOptions = { factor: 10, minSpan: 60_000 };

const CLEAR = ruleFinding('missing', null);
const MISSING = ruleFinding('missing', 'missing');

export class MissingDetector implements PointDetector {
  // On the prototype, not a field: a field costs every point 8 bytes (issue 15).
  get kind(): 'missing' {
    return 'missing';
  }
  get timed(): true {
    return true;
  }
  private lastGood = NaN;
  private lastAny = NaN;
  private interval = NaN;

  constructor(private readonly o: MissingOptions = MISSING_DEFAULTS) {}

  get span(): number {
    if (this.o.span !== undefined) return this.o.span;
    const learnt = Number.isNaN(this.interval) ? 0 : this.o.factor * this.interval;
    return Math.max(this.o.minSpan, learnt);
  }

  update(ts: number, x: number, quality: Quality): Finding | null {
    const dt = ts - this.lastAny;
    // Readings (bad ones too) show the poll rate; long gaps are what we detect, so clip them.
    if (dt > 0) {
      const d = Number.isNaN(this.interval) ? dt : Math.min(dt, 4 * this.interval);
      this.interval = Number.isNaN(this.interval) ? d : this.interval + 0.05 * (d - this.interval);
    }
    this.lastAny = ts;
    if (quality === 'good' && Number.isFinite(x)) this.lastGood = ts;
    return this.tick(ts);
  }

  /** The span is never shorter than `minSpan` (or the fixed `span`): silence cannot be found before then. */
  dueAt(): number {
    return Number.isNaN(this.lastGood) ? Infinity : this.lastGood + (this.o.span ?? this.o.minSpan);
  }

  tick(ts: number): Finding | null {
    if (Number.isNaN(this.lastGood)) return null;
    return ts - this.lastGood >= this.span ? MISSING : CLEAR;
  }
}
