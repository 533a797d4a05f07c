/**
 * Window arithmetic, pure. Windows are aligned to the wall clock in the configured time zone:
 * every window starts at local midnight plus a whole number of window lengths, and no window
 * crosses local midnight. `1d` is exactly the local day (23 h or 25 h on daylight-saving days).
 *
 * Example (Europe/Amsterdam, fall back on 2024-10-27, a 25 h day from 2024-10-26T22:00Z):
 * 1 h windows start at 22:00Z, 23:00Z, 00:00Z (02:00 CEST), 01:00Z (02:00 CET), 02:00Z … 21:00Z:
 * 25 windows of one real hour each, every one starting on a local clock hour.
 *
 * A reading exactly at a boundary belongs to the later window (windows are [start, end)).
 */
import { formatDuration } from '../settings/duration.js';
import { localDay } from '../shared/zone.js';

export const DAY_MS = 86_400_000;

/** Why a window length cannot be used, or undefined when it can. */
export function checkWindowLength(ms: number): string | undefined {
  if (!Number.isInteger(ms) || ms < 1000) return `a window is at least 1s, got ${ms}ms`;
  if (ms === DAY_MS) return undefined;
  if (ms > DAY_MS || DAY_MS % ms !== 0)
    return `a window must divide a day (1m, 5m, 15m, 1h, 6h…) or be exactly 1d, got ${formatDuration(ms)}`;
  return undefined;
}

export function windowLabel(ms: number): string {
  return formatDuration(ms);
}

/**
 * Finds the window holding a timestamp. Caches the current local day, so the hot path is two
 * comparisons and a division; the Intl call happens once per day per aligner (or when readings
 * hop between days).
 */
export class WindowAligner {
  private dayStart = Number.NaN;
  private dayEnd = Number.NaN;

  constructor(readonly timezone: string) {}

  private day(ts: number): void {
    if (ts >= this.dayStart && ts < this.dayEnd) return;
    const d = localDay(ts, this.timezone);
    this.dayStart = d.start;
    this.dayEnd = d.end;
  }

  /** Start of the window of length `ms` that holds `ts`. */
  start(ts: number, ms: number): number {
    this.day(ts);
    if (ms >= DAY_MS) return this.dayStart;
    return this.dayStart + Math.floor((ts - this.dayStart) / ms) * ms;
  }

  /** End (exclusive) of the window of length `ms` that starts at `start`. */
  end(start: number, ms: number): number {
    this.day(start);
    if (ms >= DAY_MS) return this.dayEnd;
    return Math.min(start + ms, this.dayEnd);
  }
}
