import { describe, expect, it } from 'vitest';
import { accountSeqs, clearMs } from '../../chaos/judge.js';
import { fingerprint } from '../../chaos/oracle.js';
import type { StoredRecord } from '../../src/store/records.js';

/**
 * The judge's accounting of committed seqs (chaos/judge.ts): with the audit cursor it walks the
 * records the store kept; as deployed (the soak) it walks 1..head, where a seq the store no longer
 * holds and the oracle never received was deleted undelivered.
 */
const readings = (seq: number, n = 2, value = 1): StoredRecord => ({
  type: 'readings',
  seq,
  at: seq,
  batch: {
    device: 'dev1',
    ts: seq * 1000,
    readings: Array.from({ length: n }, (_, i) => ({
      device: 'dev1',
      point: `p00${i}`,
      value,
      ts: seq * 1000,
      quality: 'good' as const,
    })),
  },
});
const alarm = (seq: number): StoredRecord => ({
  type: 'alarm',
  seq,
  at: seq,
  alarm: { kind: 'event', id: 'dev1/p000/limits', event: 'raised' },
});
const aggregate = (seq: number): StoredRecord => ({ type: 'aggregate', seq, at: seq, aggregate: { kind: 'rollup' } });
const arrived = (...rs: StoredRecord[]) =>
  new Map(
    rs.map((r) => [
      r.seq,
      { fingerprint: fingerprint(r), readings: r.type === 'readings' ? r.batch.readings.length : 0 },
    ]),
  );
const heldOf = (...rs: StoredRecord[]) => new Map(rs.map((r) => [r.seq, r]));
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('accounting for committed seqs', () => {
  it('as deployed: all of 1..head delivered is no loss, whatever the store deleted', () => {
    const a = accountSeqs(range(4), arrived(readings(1), alarm(2), readings(3), aggregate(4)), new Map(), () => 4);
    expect(a).toMatchObject({ missing: [], damaged: [], committedReadings: 4, pendingReadings: 0, compared: 0 });
  });

  it('as deployed: a seq deleted from the store that never arrived is lost', () => {
    const a = accountSeqs(range(4), arrived(readings(1), readings(2), readings(4)), new Map(), () => 4);
    expect(a.missing).toEqual([3]);
  });

  it('a held record above its cursor is pending and counted; at or below it, lost', () => {
    const cursor = (t: StoredRecord['type']) => (t === 'readings' ? 2 : 3);
    const a = accountSeqs(range(4), arrived(readings(1)), heldOf(readings(2, 3), readings(3, 5), alarm(4)), cursor);
    expect(a.missing).toEqual([2]);
    expect(a.pendingReadings).toBe(5);
    expect(a.committedReadings).toBe(2 + 3 + 5);
  });

  it('a delivered record that differs from the held copy is damaged', () => {
    const a = accountSeqs(
      [1, 2],
      arrived(readings(1), readings(2, 2, 7)),
      heldOf(readings(1), readings(2, 2, 8)),
      () => 2,
    );
    expect(a.damaged).toEqual([2]);
    expect(a.compared).toBe(2);
  });

  it('an undelivered aggregate the store holds is not lost: the cost policy may acknowledge it unsent', () => {
    expect(accountSeqs([1], new Map(), heldOf(aggregate(1)), () => 5).missing).toEqual([]);
  });
});

/**
 * A recovery is timed over fault-free time (chaos/judge.ts `clearMs`): a later fault that starts
 * before fresh data arrived does not count against the earlier one, and an instant fault (a kill)
 * takes nothing away.
 */
describe('recovery time free of later faults', () => {
  const fault = (startedAt: number, endedAt: number) => ({ startedAt, endedAt });

  it('with no other fault it is the time to fresh data', () => {
    expect(clearMs(1000, 6000, [fault(0, 1000)])).toBe(5000);
  });

  it('less the windows of faults that began before the data came', () => {
    // broker down ends at 10 s; flapping 12-16 s, black hole 18-24 s; fresh data at 24.7 s.
    expect(clearMs(10_000, 24_700, [fault(6000, 10_000), fault(12_000, 16_000), fault(18_000, 24_000)])).toBe(4700);
  });

  it('overlapping windows and windows reaching past the data count once, clipped', () => {
    expect(clearMs(0, 10_000, [fault(2000, 5000), fault(4000, 6000), fault(9000, 20_000)])).toBe(5000);
  });

  it('an instant fault takes no time away', () => {
    expect(clearMs(0, 8000, [fault(3000, 3000)])).toBe(8000);
  });
});
