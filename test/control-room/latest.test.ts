import { describe, expect, it } from 'vitest';
import { LatestValues } from '../../src/control-room/latest.js';
import type { Quality, ReadingBatch } from '../../src/shared/reading.js';

const batch = (
  device: string,
  ts: number,
  values: Record<string, number>,
  quality: Quality = 'good',
): ReadingBatch => ({
  device,
  ts,
  readings: Object.entries(values).map(([point, value]) => ({ device, point, value, ts, quality })),
});

describe('the latest values behind the page', () => {
  it('gives each changed point once per take, with its newest value, in the order they first changed', () => {
    const l = new LatestValues();
    l.accept(batch('b1', 1000, { p: 1, q: 2 }));
    l.accept(batch('b2', 1500, { p: 7 }));
    l.accept(batch('b1', 2000, { p: 3 }));
    expect(l.takeChanged()).toEqual([
      ['b1', 'p', 3, 2000, 'good'],
      ['b1', 'q', 2, 1000, 'good'],
      ['b2', 'p', 7, 1500, 'good'],
    ]);
    expect(l.takeChanged()).toEqual([]);
    l.accept(batch('b1', 3000, { q: Number.NaN }, 'timeout'));
    expect(l.takeChanged()).toEqual([['b1', 'q', null, 3000, 'timeout']]);
    expect(l.get('b1', 'p')).toMatchObject({ value: 3, ts: 2000 });
  });

  it('forgets the changes nobody looked at, and tracks the next ones', () => {
    const l = new LatestValues();
    l.accept(batch('b1', 1000, { p: 1, q: 2 }));
    l.discardChanged();
    expect(l.takeChanged()).toEqual([]);
    l.accept(batch('b1', 2000, { q: 5 }));
    expect(l.takeChanged()).toEqual([['b1', 'q', 5, 2000, 'good']]);
  });
});
