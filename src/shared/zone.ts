/**
 * Time-zone arithmetic for window alignment and cron slots, pure (Intl only, no clock).
 *
 * UTC (the default) is plain Date arithmetic and never touches Intl: the first Intl object of a
 * process makes ICU build its table of available locales, which costs about 8 MB of RSS for as
 * long as the process lives (measured on Node 20, whatever the zone or the Intl service).
 *
 * Local → UTC follows node-cron 4's own conversion (`localTimeToTimestamp` in its _shared.js) so
 * that the slots we compute for catch-up are the very instants node-cron fires at:
 * - a local time that does not exist (spring forward, 02:30 in Europe/Amsterdam on the last
 *   Sunday of March) maps to an instant that reads back as another hour; callers check
 *   `readsBack()` and skip it, as node-cron does;
 * - a local time that exists twice (fall back, 02:30 on the last Sunday of October) maps to the
 *   later occurrence (CET), as node-cron does.
 */
export interface LocalParts {
  readonly year: number;
  readonly month: number; // 1..12
  readonly day: number; // 1..31
  readonly hour: number; // 0..23
  readonly minute: number;
  readonly second: number;
  readonly weekday: number; // 0 = Sunday
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Names Intl resolves to UTC itself (case-insensitive, as Intl reads them). */
const UTC_NAMES = new Set([
  'UTC',
  'ETC/UTC',
  'GMT',
  'ETC/GMT',
  'UCT',
  'ETC/UCT',
  'ZULU',
  'ETC/ZULU',
  'UNIVERSAL',
  'ETC/UNIVERSAL',
]);
const isUtc = (tz: string): boolean => UTC_NAMES.has(tz.toUpperCase());

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  if (isUtc(tz)) return true;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of `ts` in `tz` (milliseconds dropped). */
export function localParts(ts: number, tz: string): LocalParts {
  if (isUtc(tz)) {
    const d = new Date(ts);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }
  let year = 0,
    month = 0,
    day = 0,
    hour = 0,
    minute = 0,
    second = 0,
    weekday = 0;
  for (const p of formatter(tz).formatToParts(ts)) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value) % 24;
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'weekday':
        weekday = WEEKDAYS[p.value] ?? 0;
        break;
      default:
        break;
    }
  }
  return { year, month, day, hour, minute, second, weekday };
}

/** Offset of `tz` from UTC at `ts`, in ms (Amsterdam in summer: +7,200,000). */
export function offsetMs(ts: number, tz: string): number {
  if (isUtc(tz)) return 0;
  const p = localParts(ts, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ts / 1000) * 1000;
}

export function readsBack(
  ts: number,
  tz: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s = 0,
): boolean {
  const p = localParts(ts, tz);
  return p.year === y && p.month === mo && p.day === d && p.hour === h && p.minute === mi && p.second === s;
}

/** The instant of local time y-mo-d h:mi:s in `tz` (see the module comment for gaps and overlaps). */
export function localToUtc(tz: string, y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const first = offsetMs(guess, tz);
  const c1 = guess - first;
  const second = offsetMs(c1, tz);
  if (second === first) return c1;
  const c2 = guess - second;
  if (readsBack(c1, tz, y, mo, d, h, mi, s)) return c1;
  if (readsBack(c2, tz, y, mo, d, h, mi, s)) return c2;
  return Math.max(c1, c2);
}

/** The calendar date `days` after y-mo-d (negative: before). */
export function addDays(
  y: number,
  mo: number,
  d: number,
  days: number,
): { year: number; month: number; day: number; weekday: number } {
  const t = new Date(Date.UTC(y, mo - 1, d + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), weekday: t.getUTCDay() };
}

/**
 * [start, end) of the local day holding `ts`: 24 h long on most days, 23 h on the spring-forward
 * day and 25 h on the fall-back day.
 */
export function localDay(ts: number, tz: string): { start: number; end: number } {
  const p = localParts(ts, tz);
  let start = localToUtc(tz, p.year, p.month, p.day);
  // A zone whose midnight does not exist on some day: the day starts at the first instant after.
  if (start > ts) start = ts - (((ts % 60_000) + 60_000) % 60_000);
  const n = addDays(p.year, p.month, p.day, 1);
  return { start, end: localToUtc(tz, n.year, n.month, n.day) };
}
