import { z } from 'zod';
import { show } from '../settings/schema-helpers.js';
import { isValidTimeZone } from '../shared/zone.js';
import { checkCron } from './cron-slots.js';

/**
 * The `schedules:` options: the zone and the cron expressions of retention, the daily report and
 * the cloud's raw-sync window (src/schedule/README.md).
 */

/** A 5-field cron expression (minute hour day-of-month month day-of-week) or @daily/@hourly… */
export const cronExpression = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      const problem =
        typeof v === 'string' ? checkCron(v) : `expected a cron expression such as "5 0 * * *", got ${show(v)}`;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((v) => v as string);

/** A cron expression, or `false` to switch the schedule off. */
const cronOrOff = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      if (v === false) return;
      const problem =
        typeof v === 'string'
          ? checkCron(v)
          : `expected a cron expression such as "5 0 * * *" or false, got ${show(v)}`;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((v) => v as string | false);

const timeZone = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'string' || !isValidTimeZone(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an IANA time zone such as "Europe/Amsterdam" or "UTC", got ${show(v)}`,
        });
      }
    })
    .transform((v) => v as string);

export const schedulesSchema = () =>
  z.strictObject({
    /** IANA zone for every schedule and for window alignment. */
    timezone: timeZone().default('UTC'),
    /** When the store's retention runs (on top of its own timer); absent: only the store's timer. */
    retention: cronExpression().optional(),
    /** The daily report; `false` switches it off. */
    dailyReport: cronOrOff().default('5 0 * * *'),
    /** Raw readings go to the cloud only during the minutes this expression matches; absent: always. */
    cloudRawSync: z.strictObject({ window: cronExpression().optional() }).optional(),
  });

export type SchedulesConfig = z.infer<ReturnType<typeof schedulesSchema>>;
