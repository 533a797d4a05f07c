import { describe, expect, it } from 'vitest';
import { countAlarms, firstAlarm, runSeries } from './synthetic.js';
import { NOISE_SD, wanderSignal } from './wander.js';

// Random walk + AR(1) noise + quantisation (wander.ts), at three sampling rates: what a slowly
// wandering real sensor looks like, unlike the stationary processSignal family.
const RATES = [
  { stepMs: 1000, days: 2 },
  { stepMs: 10_000, days: 7 },
  { stepMs: 60_000, days: 30 },
] as const;

describe('wandering process (random walk + AR(1) noise), 1 s, 10 s and 1 min sampling', () => {
  for (const { stepMs, days } of RATES) {
    it(`${stepMs / 1000} s: no false alarm in ${days} days; a 15 σ shift within 8 readings; a freeze within span + 2 readings`, {
      timeout: 60_000,
    }, () => {
      const x = wanderSignal({ stepMs, days, seed: 1 });
      const n = x.length;
      expect(countAlarms(runSeries(x, {}, stepMs).alarm)).toBe(0);

      const at = Math.floor(n * 0.8);
      const shifted = x.slice();
      for (let i = at; i < n; i++) shifted[i]! += 15 * NOISE_SD;
      const s = runSeries(shifted, {}, stepMs).alarm;
      expect(countAlarms(s, 0, at)).toBe(0);
      // 6 readings at 1 s since the tails became honest about heavy-tailed history (issue 14):
      // the step scores 0.93 at once, the alarm needs three readings in a row at ≥ 0.67.
      expect(firstAlarm(s, at) - at).toBeLessThanOrEqual(8);

      const frozen = x.slice();
      for (let i = at; i < n; i++) frozen[i] = frozen[at]!;
      const f = runSeries(frozen, {}, stepMs).alarm;
      expect(countAlarms(f, 0, at)).toBe(0);
      const spanReadings = Math.ceil(600_000 / stepMs); // flatline span default: 10 min
      expect(firstAlarm(f, at) - at).toBeLessThanOrEqual(spanReadings + 2);
    });
  }
});
