/**
 * Fixed limits HH / H / L / LL with a deadband (hysteresis): a limit is entered when the value
 * reaches it and left only once the value is `deadband` back inside, so a value sitting on a
 * limit does not chatter. On/off delays are the AlarmPolicy's job (policy.ts), like for every
 * detector. The worst limit in force wins: HH over H, LL over L.
 *
 * Example, h = 80, deadband = 2: 79.9 → clear, 80.0 → H, 78.5 → still H, 77.9 → clear.
 */
import type { Quality } from '../shared/reading.js';
import type { Limits } from '../settings/limits-schema.js';
import { ruleFinding, type Finding, type PointDetector } from './detector.js';

const CLEAR = ruleFinding('limits', null);
const FOUND = {
  HH: ruleFinding('limits', 'HH'),
  H: ruleFinding('limits', 'H'),
  L: ruleFinding('limits', 'L'),
  LL: ruleFinding('limits', 'LL'),
};
type Level = keyof typeof FOUND;

export class LimitsDetector implements PointDetector {
  // On the prototype, not a field: a field costs every point 8 bytes (issue 15).
  get kind(): 'limits' {
    return 'limits';
  }
  private readonly inside = { HH: false, H: false, L: false, LL: false };
  private readonly db: number;

  constructor(private readonly limits: Limits) {
    this.db = Math.max(0, limits.deadband ?? 0);
  }

  /** True when at least one limit is set (otherwise the detector has nothing to watch). */
  static useful(limits: Limits | undefined): boolean {
    return !!limits && [limits.hh, limits.h, limits.l, limits.ll].some((v) => v !== undefined);
  }

  tick(): Finding | null {
    return null;
  }

  update(_ts: number, x: number, quality: Quality): Finding | null {
    if (quality !== 'good' || !Number.isFinite(x)) return null;
    this.high('HH', this.limits.hh, x);
    this.high('H', this.limits.h, x);
    this.low('LL', this.limits.ll, x);
    this.low('L', this.limits.l, x);
    const level: Level | null = this.inside.HH
      ? 'HH'
      : this.inside.LL
        ? 'LL'
        : this.inside.H
          ? 'H'
          : this.inside.L
            ? 'L'
            : null;
    return level ? FOUND[level] : CLEAR;
  }

  private high(level: Level, limit: number | undefined, x: number): void {
    if (limit === undefined) return;
    this.inside[level] = this.inside[level] ? x > limit - this.db : x >= limit;
  }

  private low(level: Level, limit: number | undefined, x: number): void {
    if (limit === undefined) return;
    this.inside[level] = this.inside[level] ? x < limit + this.db : x <= limit;
  }
}
