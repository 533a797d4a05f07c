import { z } from 'zod';
import { bool, duration, finite, identifier, intIn, oneOf, show } from '../settings/schema-helpers.js';
import { checkWindowLength } from './windows.js';
import { checkCron } from './cron-slots.js';
import { isValidTimeZone } from './zone.js';

/**
 * Rollups, schedules and the cloud cost knob (issue 7; src/aggregate/README.md is the manual).
 */

/** A window length: a duration that divides a day (1m, 15m, 1h…) or exactly 1d. */
const windowLength = duration(1000, 86_400_000).superRefine((ms, ctx) => {
  const problem = checkWindowLength(ms);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A 5-field cron expression (minute hour day-of-month month day-of-week) or @daily/@hourly… */
export const cronExpression = z
  .unknown()
  .superRefine((v, ctx) => {
    const problem = typeof v === 'string' ? checkCron(v) : `expected a cron expression such as "5 0 * * *", got ${show(v)}`;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => v as string);

/** A cron expression, or `false` to switch the schedule off. */
const cronOrOff = z
  .unknown()
  .superRefine((v, ctx) => {
    if (v === false) return;
    const problem = typeof v === 'string' ? checkCron(v) : `expected a cron expression such as "5 0 * * *" or false, got ${show(v)}`;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => v as string | false);

const timeZone = z
  .unknown()
  .superRefine((v, ctx) => {
    if (typeof v !== 'string' || !isValidTimeZone(v)) {
      ctx.addIssue({ code: 'custom', message: `expected an IANA time zone such as "Europe/Amsterdam" or "UTC", got ${show(v)}` });
    }
  })
  .transform((v) => v as string);

export const aggregateSchema = z
  .strictObject({
    enabled: bool().default(true),
    /** Rollup windows, aligned to local midnight in schedules.timezone. */
    windows: z.array(windowLength).min(1).default([60_000, 900_000, 3_600_000]),
    /** A window closes (is committed) at its end plus this, by the agent's clock; later readings for it count as late. */
    grace: duration(0, 600_000).default(10_000),
    /** Relative error bound of p50/p95/p99. */
    accuracy: finite()
      .superRefine((v, ctx) => {
        if (!(v >= 0.001 && v <= 0.1)) ctx.addIssue({ code: 'custom', message: `expected a relative accuracy 0.001..0.1, got ${v}` });
      })
      .default(0.01),
    /** Points aggregated at most (memory bound); readings of further points are counted, not aggregated. */
    maxPoints: intIn(1, 1_000_000).default(10_000),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<number>();
    a.windows.forEach((w, i) => {
      if (seen.has(w)) ctx.addIssue({ code: 'custom', path: ['windows', i], message: 'this window is listed twice' });
      seen.add(w);
    });
  });

export const schedulesSchema = z.strictObject({
  /** IANA zone for every schedule and for window alignment. */
  timezone: timeZone.default('UTC'),
  /** When the store's retention runs (on top of its own timer); absent: only the store's timer. */
  retention: cronExpression.optional(),
  /** The daily report; `false` switches it off. */
  dailyReport: cronOrOff.default('5 0 * * *'),
  /** Raw readings go to the cloud only during the minutes this expression matches; absent: always. */
  cloudRawSync: z.strictObject({ window: cronExpression.optional() }).optional(),
});

/** What the cloud receives of a device (cloud-policy.ts applies it). */
export const CLOUD_MODES = ['raw', 'aggregates', 'both'] as const;
export type CloudMode = (typeof CLOUD_MODES)[number];

export const cloudSchema = z.strictObject({
  /** What the cloud gets for devices not listed: `raw`, `aggregates` or `both`. Alarms always go. */
  default: oneOf(CLOUD_MODES).default('both'),
  devices: z.record(identifier, oneOf(CLOUD_MODES)).default({}),
});

export type AggregateConfig = z.infer<typeof aggregateSchema>;
export type SchedulesConfig = z.infer<typeof schedulesSchema>;
export type CloudConfig = z.infer<typeof cloudSchema>;

/** Cross-checks needing the device list: `cloud.devices` names must be configured devices. */
export function checkCloudDevices(cloud: CloudConfig, devices: readonly string[]): string[] {
  return Object.keys(cloud.devices)
    .filter((d) => !devices.includes(d))
    .map((d) => `cloud.devices.${d}: no device "${d}" is configured`);
}
