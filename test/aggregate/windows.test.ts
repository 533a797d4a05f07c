import { describe, expect, it } from 'vitest';
import { WindowAligner, checkWindowLength } from '../../src/aggregate/windows.js';
import { localDay } from '../../src/shared/zone.js';

const AMS = 'Europe/Amsterdam';
const H = 3_600_000;
const iso = (s: string): number => Date.parse(s);

describe('window alignment', () => {
  it('a reading exactly at a boundary belongs to the later window', () => {
    const a = new WindowAligner('UTC');
    const t = iso('2025-01-01T10:15:00Z');
    expect(a.start(t, 900_000)).toBe(t);
    expect(a.start(t - 1, 900_000)).toBe(iso('2025-01-01T10:00:00Z'));
    expect(a.start(t, 60_000)).toBe(t);
    expect(a.start(t, H)).toBe(iso('2025-01-01T10:00:00Z'));
  });

  it('1 d follows local midnight: 23 h on the spring-forward day, 25 h on the fall-back day', () => {
    const spring = localDay(iso('2025-03-30T12:00:00Z'), AMS);
    expect(spring).toEqual({ start: iso('2025-03-29T23:00:00Z'), end: iso('2025-03-30T22:00:00Z') });
    const fall = localDay(iso('2025-10-26T12:00:00Z'), AMS);
    expect(fall).toEqual({ start: iso('2025-10-25T22:00:00Z'), end: iso('2025-10-26T23:00:00Z') });
    const a = new WindowAligner(AMS);
    expect(a.end(a.start(iso('2025-10-26T12:00:00Z'), 86_400_000), 86_400_000) - fall.start).toBe(25 * H);
  });

  it('1 h windows are real hours on local clock hours across both DST changes', () => {
    const a = new WindowAligner(AMS);
    for (const [day, hours] of [
      ['2025-03-30', 23],
      ['2025-10-26', 25],
      ['2025-06-01', 24],
    ] as const) {
      const { start, end } = localDay(iso(`${day}T12:00:00Z`), AMS);
      const starts = new Set<number>();
      for (let t = start; t < end; t += 60_000) starts.add(a.start(t, H));
      expect(starts.size).toBe(hours);
      for (const s of starts) expect(a.end(s, H) - s).toBe(H);
    }
  });

  it('rejects lengths that do not tile a day', () => {
    expect(checkWindowLength(60_000)).toBeUndefined();
    expect(checkWindowLength(86_400_000)).toBeUndefined();
    expect(checkWindowLength(7 * 60_000)).toMatch(/divide a day/);
    expect(checkWindowLength(2 * 86_400_000)).toMatch(/divide a day/);
  });
});
