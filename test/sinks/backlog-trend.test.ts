/** When a sink is falling behind (issue 15): a backlog that grows while connected, not an outage. */
import { describe, expect, it } from 'vitest';
import { BacklogTrend } from '../../src/sinks/backlog-trend.js';

const feed = (trend: BacklogTrend, pendings: number[], connected: boolean[] = pendings.map(() => true), drained = 100) =>
  pendings.map((pending, i) => trend.sample({ at: i * 10_000, pending, delivered: i * drained, connected: connected[i]! }));

describe('BacklogTrend', () => {
  it('says falling behind once the backlog grew at each of the last three samples while connected, and once only', () => {
    const v = feed(new BacklogTrend(), [1000, 1400, 1750, 2100, 2500]);
    expect(v.map((x) => x.fallingBehind)).toEqual([false, false, false, true, true]);
    expect(v.map((x) => x.changed)).toEqual([false, false, false, true, false]);
    expect(v[3]!.drainRate).toBe(10); // 100 readings in 10 s
  });

  it('keeps up again as soon as the backlog shrinks at one sample', () => {
    const v = feed(new BacklogTrend(), [1000, 1400, 1750, 2100, 2000, 2300]);
    expect(v.map((x) => x.fallingBehind)).toEqual([false, false, false, true, false, false]);
    expect(v[4]!.changed).toBe(true);
  });

  it('a backlog growing while disconnected is an outage, not a slow link', () => {
    const v = feed(new BacklogTrend(), [1000, 1400, 1750, 2100, 2500], [true, false, true, true, true]);
    expect(v.map((x) => x.fallingBehind)).toEqual([false, false, false, false, false]);
  });

  it('a steady or draining backlog is never falling behind', () => {
    expect(feed(new BacklogTrend(), [500, 500, 500, 500, 500]).some((x) => x.fallingBehind)).toBe(false);
    expect(feed(new BacklogTrend(), [5000, 4000, 3000, 2000, 1000]).some((x) => x.fallingBehind)).toBe(false);
  });
});
