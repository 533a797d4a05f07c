import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidTimeZone, localDay, localParts, localToUtc, offsetMs } from '../../src/shared/zone.js';

/**
 * The reference: 'Etc/Greenwich' is UTC to Intl but not one of the names zone.ts shortcuts, so
 * its answers come from zone.ts's Intl path (the one every named zone takes).
 */
const THROUGH_INTL = 'Etc/Greenwich';

// 1970 to 2200, whole milliseconds.
const instant = fc.integer({ min: 0, max: 7_258_118_400_000 });

describe('time zones: UTC without Intl', () => {
  it('UTC and its aliases read the same wall clock as Intl does, at any instant', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom('UTC', 'Etc/UTC', 'GMT', 'utc', 'Etc/GMT', 'Zulu'), (ts, tz) => {
        expect(localParts(ts, tz)).toEqual(localParts(ts, THROUGH_INTL));
        expect(offsetMs(ts, tz)).toBe(0);
      }),
    );
  });

  it('local → UTC and the local day in UTC are plain calendar arithmetic', () => {
    fc.assert(
      fc.property(instant, (ts) => {
        const p = localParts(ts, 'UTC');
        const s = Math.floor(ts / 1000) * 1000;
        expect(localToUtc('UTC', p.year, p.month, p.day, p.hour, p.minute, p.second)).toBe(s);
        const day = localDay(ts, 'UTC');
        expect(day.start).toBe(ts - (ts % 86_400_000));
        expect(day.end - day.start).toBe(86_400_000);
      }),
    );
  });

  it('named zones still go through Intl: offsets and validity', () => {
    expect(offsetMs(Date.parse('2025-07-01T12:00:00Z'), 'Europe/Amsterdam')).toBe(7_200_000);
    expect(offsetMs(Date.parse('2025-01-01T12:00:00Z'), 'Europe/Amsterdam')).toBe(3_600_000);
    expect(isValidTimeZone('Europe/Amsterdam')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
