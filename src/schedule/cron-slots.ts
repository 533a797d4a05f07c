/**
 * Cron slots in a time zone, pure: does an instant match, which slot was the latest before now,
 * which is the next. node-cron validates and parses (its `validateDetailed` and `parse`, so the
 * syntax is node-cron's); the scheduler fires live schedules and catches up after downtime from
 * the slots computed here (node-cron's own runner is not used: it made an Intl formatter per
 * match, issue 15), with node-cron 4's semantics:
 * - 5 fields (minute hour day-of-month month day-of-week), or @hourly/@daily/…; slots are at
 *   second 0. Day-of-month AND day-of-week must both match (node-cron 4, unlike Vixie cron).
 * - Local times that do not exist (spring forward) are skipped; times that exist twice (fall
 *   back) happen once, at the later (winter-time) occurrence. Both as node-cron does.
 * Only numbers, ranges, steps, lists and names are accepted (not L, W or #): checkCron says so.
 */
import cron from 'node-cron';
import { addDays, localParts, localToUtc, readsBack } from '../shared/zone.js';

export interface CronSpec {
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
}

/** Why an expression cannot be used, or undefined when it can. */
export function checkCron(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) {
    return `expected 5 fields "minute hour day-of-month month day-of-week" (e.g. "5 0 * * *"), got ${JSON.stringify(expression)}`;
  }
  const v = cron.validateDetailed(trimmed);
  if (!v.valid) return `${JSON.stringify(expression)}: ${v.errors.map((e) => e.message).join('; ')}`;
  const f = v.fields!;
  if ([...f.dayOfMonth, ...f.dayOfWeek].some((x) => typeof x !== 'number')) {
    return `${JSON.stringify(expression)}: L, W and # are not supported here; use numbers, ranges, steps and lists`;
  }
  return undefined;
}

const cache = new Map<string, CronSpec>();

export function compileCron(expression: string): CronSpec {
  let spec = cache.get(expression);
  if (spec) return spec;
  const problem = checkCron(expression);
  if (problem) throw new RangeError(problem);
  const f = cron.parse(expression.trim());
  spec = {
    expression,
    minutes: [...f.minute].sort((a, b) => a - b),
    hours: [...f.hour].sort((a, b) => a - b),
    days: new Set(f.dayOfMonth as number[]),
    months: new Set(f.month),
    weekdays: new Set(f.dayOfWeek as number[]),
  };
  cache.set(expression, spec);
  return spec;
}

function dayMatches(spec: CronSpec, month: number, day: number, weekday: number): boolean {
  return spec.months.has(month) && spec.days.has(day) && spec.weekdays.has(weekday);
}

/** Whether the local minute holding `ts` matches (seconds ignored). */
export function cronMatches(spec: CronSpec, ts: number, tz: string): boolean {
  const p = localParts(ts, tz);
  return dayMatches(spec, p.month, p.day, p.weekday) && spec.hours.includes(p.hour) && spec.minutes.includes(p.minute);
}

/** The instant of slot (day, h, m), or undefined when that local time does not exist that day. */
function slotAt(tz: string, d: { year: number; month: number; day: number }, h: number, m: number): number | undefined {
  const ts = localToUtc(tz, d.year, d.month, d.day, h, m, 0);
  return readsBack(ts, tz, d.year, d.month, d.day, h, m, 0) ? ts : undefined;
}

/**
 * The latest slot s with after < s ≤ now, or undefined. Looks back at most `maxDays` local days
 * (default 400: any expression without L/W/# matches at least once a year).
 */
export function latestSlot(
  spec: CronSpec,
  tz: string,
  now: number,
  after = -Infinity,
  maxDays = 400,
): number | undefined {
  const p = localParts(now, tz);
  for (let i = 0; i <= maxDays; i++) {
    const d = addDays(p.year, p.month, p.day, -i);
    const next = addDays(d.year, d.month, d.day, 1);
    if (localToUtc(tz, next.year, next.month, next.day) <= after) return undefined;
    if (!dayMatches(spec, d.month, d.day, d.weekday)) continue;
    for (let h = spec.hours.length - 1; h >= 0; h--) {
      const hour = spec.hours[h]!;
      if (i === 0 && hour > p.hour + 1) continue; // +1: DST days shift local hours by one
      for (let m = spec.minutes.length - 1; m >= 0; m--) {
        const ts = slotAt(tz, d, hour, spec.minutes[m]!);
        if (ts === undefined || ts > now) continue;
        if (ts <= after) break;
        return ts;
      }
    }
  }
  return undefined;
}

/** The first slot strictly after `after` (what node-cron fires next). */
export function nextSlot(spec: CronSpec, tz: string, after: number, maxDays = 400): number | undefined {
  const p = localParts(after, tz);
  for (let i = 0; i <= maxDays; i++) {
    const d = addDays(p.year, p.month, p.day, i);
    if (!dayMatches(spec, d.month, d.day, d.weekday)) continue;
    for (const hour of spec.hours) {
      if (i === 0 && hour < p.hour - 1) continue;
      for (const minute of spec.minutes) {
        const ts = slotAt(tz, d, hour, minute);
        if (ts !== undefined && ts > after) return ts;
      }
    }
  }
  return undefined;
}
