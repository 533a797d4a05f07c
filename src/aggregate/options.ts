import { z } from 'zod';
import { bool, duration, finite, identifier, intIn, oneOf } from '../settings/schema-helpers.js';
import { checkWindowLength } from './windows.js';

/**
 * Rollups and the cloud cost knob (issue 7; src/aggregate/README.md is the manual). The schedules'
 * options are src/schedule/options.ts.
 */

/** A window length: a duration that divides a day (1m, 15m, 1h…) or exactly 1d. */
const windowLength = () =>
  duration(1000, 86_400_000).superRefine((ms, ctx) => {
    const problem = checkWindowLength(ms);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const aggregateSchema = () =>
  z
    .strictObject({
      enabled: bool().default(true),
      /** Rollup windows, aligned to local midnight in schedules.timezone. */
      windows: z.array(windowLength()).min(1).default([60_000, 900_000, 3_600_000]),
      /** A window closes (is committed) at its end plus this, by the agent's clock; later readings for it count as late. */
      grace: duration(0, 600_000).default(10_000),
      /** Relative error bound of p50/p95/p99. */
      accuracy: finite()
        .superRefine((v, ctx) => {
          if (!(v >= 0.001 && v <= 0.1))
            ctx.addIssue({ code: 'custom', message: `expected a relative accuracy 0.001..0.1, got ${v}` });
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

/** What the cloud receives of a device (cloud-policy.ts applies it). */
export const CLOUD_MODES = ['raw', 'aggregates', 'both'] as const;
export type CloudMode = (typeof CLOUD_MODES)[number];

export const cloudSchema = () =>
  z.strictObject({
    /** What the cloud gets for devices not listed: `raw`, `aggregates` or `both`. Alarms always go. */
    default: oneOf(CLOUD_MODES).default('both'),
    devices: z.record(identifier, oneOf(CLOUD_MODES)).default({}),
  });

export type AggregateConfig = z.infer<ReturnType<typeof aggregateSchema>>;
export type CloudConfig = z.infer<ReturnType<typeof cloudSchema>>;

/** Cross-checks needing the device list: `cloud.devices` names must be configured devices. */
export function checkCloudDevices(cloud: CloudConfig, devices: readonly string[]): string[] {
  return Object.keys(cloud.devices)
    .filter((d) => !devices.includes(d))
    .map((d) => `cloud.devices.${d}: no device "${d}" is configured`);
}
