import { describe, expect, it } from 'vitest';
import { BaselineDetector } from '../../src/detect/baseline.js';
import { createPointDetectors } from '../../src/detect/build.js';
import { FrameDetector } from '../../src/detect/frame.js';
import { parseDetectOptions, detectSchema } from '../../src/detect/options.js';
import { optionsFor } from '../../src/detect/point-options.js';
import { AlarmPolicy } from '../../src/detect/policy.js';
import { RelationDetector } from '../../src/detect/relation.js';
import { firstAlarm, gaussian, prng, T0 } from './synthetic.js';

describe('relation detector', () => {
  it('flags a broken relation while each point stays within its own range', () => {
    const g = gaussian(prng(9));
    const rel = new RelationDetector(2);
    const n = 4000;
    const at = 3000;
    let firstHigh = -1;
    let maxBefore = 0;
    let load = 0;
    for (let i = 0; i < n; i++) {
      load = 0.99 * load + 0.14 * g(); // a wandering load drives both
      const current = 50 + 10 * load + 0.3 * g();
      // After `at`, flow stops following the load (a blocked line) but stays inside its range.
      const flow = i < at ? 200 + 40 * load + 1.2 * g() : 200 - 40 * load + 1.2 * g();
      const f = rel.update(T0 + i * 1000, [current, flow]);
      if (!f) continue;
      if (i < at) maxBefore = Math.max(maxBefore, f.score);
      else if (firstHigh < 0 && f.score >= 0.67) firstHigh = i;
    }
    expect(maxBefore).toBeLessThan(0.67);
    expect(firstHigh).toBeGreaterThanOrEqual(at);
    expect(firstHigh - at).toBeLessThan(120);
  });

  it('is unit-free: scaling and offsetting one point changes nothing', () => {
    const run = (k: number, off: number) => {
      const g = gaussian(prng(10));
      const rel = new RelationDetector(3);
      const out: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const a = g();
        const r = rel.update(T0 + i * 1000, [a, a + 0.2 * g(), k * g() + off]);
        out.push(r?.score ?? -1);
      }
      return out;
    };
    const a = run(1, 0);
    const b = run(1000, 1013);
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-6);
  });

  it('runs inside the frame with several columns and alarms on the break', () => {
    const g = gaussian(prng(11));
    const det = new FrameDetector(['a', 'b'], parseDetectOptions({}));
    const alarm = new Uint8Array(3000);
    let load = 0;
    for (let i = 0; i < 3000; i++) {
      load = 0.99 * load + 0.14 * g();
      const a = load + 0.05 * g();
      const b = (i < 2000 ? load : -load) + 0.05 * g();
      alarm[i] = det.update(T0 + i * 1000, [a, b]).alarm ? 1 : 0;
    }
    expect(firstAlarm(alarm)).toBeGreaterThanOrEqual(2000);
    expect(firstAlarm(alarm) - 2000).toBeLessThan(120);
  });
});

describe('alarm policy', () => {
  const base = { minScore: 0.67, clearScore: 0.5, onDelay: 0, offDelay: 0, onCount: 3, offCount: 2 };
  it('needs onCount findings in a row to raise and offCount below clearScore to clear', () => {
    const p = new AlarmPolicy(base);
    const scores = [0.7, 0.8, 0.2, 0.7, 0.7, 0.9, 0.6, 0.4, 0.6, 0.4, 0.3];
    const active = scores.map((s, i) => (p.updateScore(T0 + i * 1000, s), p.active));
    expect(active).toEqual([false, false, false, false, false, true, true, true, true, true, false]);
  });

  it('honours on and off delays in time', () => {
    const p = new AlarmPolicy({ ...base, onCount: 1, offCount: 1, onDelay: 10_000, offDelay: 5000 });
    for (let t = 0; t < 10_000; t += 1000) expect(p.updateScore(T0 + t, 1)).toBeNull();
    expect(p.updateScore(T0 + 10_000, 1)?.active).toBe(true);
    expect(p.updateScore(T0 + 11_000, 0)).toBeNull();
    expect(p.updateScore(T0 + 16_000, 0)?.active).toBe(false);
  });

  it('ignores null findings (no opinion)', () => {
    const p = new AlarmPolicy(base);
    expect(p.update(T0, null)).toBeNull();
    expect(p.active).toBe(false);
  });
});

describe('detect options', () => {
  it('fills every default from an empty section', () => {
    const o = parseDetectOptions({});
    expect(o.baseline.warmup).toBe(300);
    expect(o.policy.minScore).toBe(0.67);
    expect(o.flatline.span).toBe(600_000);
    expect(o.points).toEqual({});
  });

  it('applies per-point overrides over the sections', () => {
    const o = parseDetectOptions({
      flatline: { span: '5m' },
      points: { p1: { flatline: { tolerance: 0.1 }, limits: { h: 3 } } },
    });
    const p1 = optionsFor(o, 'p1');
    expect(p1.flatline).toMatchObject({ span: 300_000, tolerance: 0.1 });
    expect(p1.limits).toEqual({ h: 3 });
    expect(optionsFor(o, 'p2').flatline.tolerance).toBe(0);
  });

  it('drops the learned baseline of one point only, keeping its rule detectors', () => {
    const o = parseDetectOptions({ points: { counter: { baseline: { enabled: false } } } });
    const kinds = (p: string) => createPointDetectors(optionsFor(o, p)).map((d) => d.constructor.name);
    expect(kinds('counter')).not.toContain(BaselineDetector.name);
    expect(kinds('counter')).toEqual(expect.arrayContaining(['FlatlineDetector', 'MissingDetector']));
    expect(kinds('drum_pressure')).toContain(BaselineDetector.name);
  });

  it('reports every bad field with its path', () => {
    const r = detectSchema().safeParse({ policy: { minScore: 2 }, baseline: { warmup: -1 }, bogus: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['policy.minScore', 'baseline.warmup']));
  });
});
