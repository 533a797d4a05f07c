/**
 * Alarm priority from what the detector found. Pure.
 *
 * Order of precedence: `priorities.alarms[<id>]` (one priority, or per condition), then for the
 * learned detectors (baseline, relation) the score thresholds, then the condition's priority.
 * Example with the defaults: limits HH → high, limits H → medium, stuck → medium, a baseline
 * spike scoring 0.85 → medium, 0.7 → low.
 */
import type { Priority } from './alarm-event.js';
import type { AlarmsConfig } from './options.js';

const LEARNED = new Set(['baseline', 'relation']);

export class PriorityRules {
  constructor(private readonly o: AlarmsConfig['priorities']) {}

  of(id: string, kind: string, condition: string | null, score: number): Priority {
    const override = this.o.alarms[id];
    if (typeof override === 'string') return override;
    if (override && condition !== null && override[condition]) return override[condition]!;
    if (LEARNED.has(kind)) {
      const l = this.o.learned;
      if (l.critical !== undefined && score >= l.critical) return 'critical';
      if (l.high !== undefined && score >= l.high) return 'high';
      return score >= l.medium ? 'medium' : 'low';
    }
    const byCondition = condition === null ? undefined : (this.o.conditions as Record<string, Priority>)[condition];
    return byCondition ?? 'medium';
  }
}
