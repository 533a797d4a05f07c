import { describe, expect, it } from 'vitest';
import { FlatlineDetector, FLATLINE_DEFAULTS } from '../../src/detect/flatline.js';
import { LimitsDetector } from '../../src/detect/limits.js';
import { MissingDetector, MISSING_DEFAULTS } from '../../src/detect/missing.js';
import { RateDetector } from '../../src/detect/rate.js';
import { processSignal, T0 } from './synthetic.js';

describe('limits', () => {
  it('enters at the limit and leaves only past the deadband (no chatter)', () => {
    const d = new LimitsDetector({ hh: 90, h: 80, l: 20, deadband: 2 });
    const seq = [79.9, 80, 79, 78.5, 77.9, 80.1, 90, 88.5, 87.9, 19.9, 21.5, 22.1];
    const got = seq.map((v, i) => d.update(T0 + i * 1000, v, 'good')!.condition);
    expect(got).toEqual([null, 'H', 'H', 'H', null, 'H', 'HH', 'HH', 'H', 'L', 'L', null]);
  });

  it('a value sitting on the limit with noise does not toggle', () => {
    const d = new LimitsDetector({ h: 10, deadband: 0.5 });
    const x = processSignal(1000, 1, { level: 10, sd: 0.1 });
    let toggles = 0;
    let prev: string | null = null;
    for (let i = 0; i < x.length; i++) {
      const c = d.update(T0 + i * 1000, x[i]!, 'good')!.condition;
      if (i > 0 && c !== prev) toggles++;
      prev = c;
    }
    expect(toggles).toBeLessThanOrEqual(1);
  });

  it('ignores bad readings', () => {
    expect(new LimitsDetector({ h: 1 }).update(T0, 5, 'timeout')).toBeNull();
  });
});

describe('rate of change', () => {
  it('fires when the rise over the span exceeds maxRise, whatever the poll rate', () => {
    for (const step of [100, 1000, 5000]) {
      const d = new RateDetector({ span: 60_000, maxRise: 5 });
      let fired = -1;
      for (let t = 0; t <= 300_000; t += step) {
        const v = t < 120_000 ? 10 : 10 + ((t - 120_000) / 60_000) * 8; // 8 units per minute after 2 min
        const f = d.update(T0 + t, v, 'good');
        if (f?.condition === 'rise' && fired < 0) fired = t;
      }
      expect(fired).toBeGreaterThan(120_000);
      expect(fired - 120_000).toBeLessThanOrEqual(60_000);
    }
  });

  it('stays quiet on noise and slow ramps within the limit', () => {
    const d = new RateDetector({ span: 60_000, maxRise: 5, maxFall: 5 });
    const x = processSignal(3600, 2, { sd: 0.5 });
    for (let i = 0; i < x.length; i++)
      expect(d.update(T0 + i * 1000, x[i]! + i / 60, 'good')?.condition ?? null).toBeNull();
  });

  it('fires on a fall', () => {
    const d = new RateDetector({ span: 10_000, maxFall: 1 });
    d.update(T0, 10, 'good');
    expect(d.update(T0 + 5000, 8, 'good')!.condition).toBe('fall');
  });
});

describe('flatline (stuck sensor)', () => {
  it('fires once a moving signal freezes for the span, at full "good" quality', () => {
    const d = new FlatlineDetector({ ...FLATLINE_DEFAULTS, span: 60_000 });
    const x = processSignal(2000, 3);
    let fired = -1;
    for (let i = 0; i < 2000; i++) {
      const v = i < 1000 ? x[i]! : x[999]!;
      if (d.update(T0 + i * 1000, v, 'good')?.condition === 'stuck' && fired < 0) fired = i;
    }
    expect(fired).toBe(1059);
  });

  it('learns that a quantised signal is legitimately flat for a while', () => {
    const d = new FlatlineDetector({ ...FLATLINE_DEFAULTS, span: 60_000 });
    // A level that steps every 5 minutes: normal runs of 300 s, longer than the span.
    let stuck = 0;
    for (let i = 0; i < 6 * 3600; i++)
      if (d.update(T0 + i * 1000, Math.floor(i / 300) % 7, 'good')?.condition === 'stuck') stuck++;
    // Only the first runs, before a long normal run has been seen, may look stuck.
    expect(stuck).toBeLessThan(2 * 300);
  });

  it('says nothing about a point that never moved', () => {
    const d = new FlatlineDetector();
    for (let i = 0; i < 5000; i++) expect(d.update(T0 + i * 1000, 3, 'good')).toBeNull();
  });
});

describe('missing data', () => {
  it('fires on silence, driven by ticks alone', () => {
    const d = new MissingDetector(MISSING_DEFAULTS);
    for (let i = 0; i < 100; i++) d.update(T0 + i * 1000, 1, 'good');
    expect(d.tick(T0 + 99_000 + 59_000)!.condition).toBeNull();
    expect(d.tick(T0 + 99_000 + 60_000)!.condition).toBe('missing');
  });

  it('counts bad readings as silence and learns a slow poll rate', () => {
    const d = new MissingDetector(MISSING_DEFAULTS);
    for (let i = 0; i < 100; i++) d.update(T0 + i * 30_000, 1, 'good');
    expect(d.span).toBe(300_000);
    const t = T0 + 99 * 30_000;
    for (let k = 1; k <= 9; k++) expect(d.update(t + k * 30_000, NaN, 'timeout')!.condition).toBeNull();
    expect(d.update(t + 10 * 30_000, NaN, 'timeout')!.condition).toBe('missing');
    expect(d.update(t + 11 * 30_000, 2, 'good')!.condition).toBeNull();
  });

  it('uses a fixed span when given', () => {
    const d = new MissingDetector({ ...MISSING_DEFAULTS, span: 5000 });
    d.update(T0, 1, 'good');
    expect(d.tick(T0 + 5000)!.condition).toBe('missing');
  });
});
