import { describe, expect, it } from 'vitest';
import { checkCron, compileCron, latestSlot, nextSlot } from '../../src/schedule/cron-slots.js';
import { isRawSyncOpen, rawSyncGate } from '../../src/schedule/sync-window.js';

const AMS = 'Europe/Amsterdam';
const iso = (s: string): number => Date.parse(s);

describe('cron slots in a time zone', () => {
  it('latest and next slot of a daily schedule follow local time', () => {
    const daily = compileCron('5 0 * * *');
    expect(latestSlot(daily, AMS, iso('2025-03-30T12:00:00Z'))).toBe(iso('2025-03-29T23:05:00Z')); // 00:05 CET
    expect(latestSlot(daily, AMS, iso('2025-03-31T12:00:00Z'))).toBe(iso('2025-03-30T22:05:00Z')); // 00:05 CEST
    expect(nextSlot(daily, AMS, iso('2025-03-30T12:00:00Z'))).toBe(iso('2025-03-30T22:05:00Z'));
    expect(latestSlot(daily, AMS, iso('2025-03-31T12:00:00Z'), iso('2025-03-30T22:05:00Z'))).toBeUndefined();
  });

  it('a local time that does not exist is skipped; one that exists twice happens once (the later), like node-cron', () => {
    const at0230 = compileCron('30 2 * * *');
    // 2025-03-30 02:30 does not exist in Amsterdam: the slot before 03-31 is 03-29's.
    expect(latestSlot(at0230, AMS, iso('2025-03-30T23:00:00Z'))).toBe(iso('2025-03-29T01:30:00Z'));
    // 2025-10-26 02:30 happens at 00:30Z (CEST) and 01:30Z (CET): one slot, the later.
    expect(nextSlot(at0230, AMS, iso('2025-10-25T12:00:00Z'))).toBe(iso('2025-10-26T01:30:00Z'));
  });

  it('latest slot is exact on a minute schedule and respects `after`', () => {
    const every = compileCron('* * * * *');
    expect(latestSlot(every, 'UTC', iso('2025-01-01T10:00:59Z'))).toBe(iso('2025-01-01T10:00:00Z'));
    expect(latestSlot(every, 'UTC', iso('2025-01-01T10:00:59Z'), iso('2025-01-01T10:00:00Z'))).toBeUndefined();
  });

  it('checkCron explains what is wrong', () => {
    expect(checkCron('5 0 * * *')).toBeUndefined();
    expect(checkCron('@daily')).toBeUndefined();
    expect(checkCron('0 5 0 * * *')).toMatch(/5 fields/);
    expect(checkCron('0 25 * * *')).toMatch(/hour/);
    expect(checkCron('0 0 L * *')).toMatch(/not supported/);
  });
});

describe('raw sync window', () => {
  it('is open during the local minutes the expression matches, across DST', () => {
    const w = '* 1-5 * * *';
    expect(isRawSyncOpen(iso('2025-01-15T00:30:00Z'), w, AMS)).toBe(true); // 01:30 CET
    expect(isRawSyncOpen(iso('2025-01-15T04:59:59Z'), w, AMS)).toBe(true); // 05:59:59 CET
    expect(isRawSyncOpen(iso('2025-01-15T05:00:00Z'), w, AMS)).toBe(false); // 06:00
    expect(isRawSyncOpen(iso('2025-07-15T00:30:00Z'), w, AMS)).toBe(true); // 02:30 CEST
    expect(isRawSyncOpen(iso('2025-07-15T04:00:00Z'), w, AMS)).toBe(false); // 06:00 CEST
    expect(isRawSyncOpen(iso('2025-07-15T12:00:00Z'), undefined, AMS)).toBe(true);
  });

  it('rawSyncGate binds the configured window', () => {
    const open = rawSyncGate({ timezone: 'UTC', cloudRawSync: { window: '* 22-23 * * *' } });
    expect(open(iso('2025-01-01T22:10:00Z'))).toBe(true);
    expect(open(iso('2025-01-01T21:59:00Z'))).toBe(false);
    expect(rawSyncGate({ timezone: 'UTC' })(0)).toBe(true);
  });
});
